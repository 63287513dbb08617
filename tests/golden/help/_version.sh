# the version and the library's (the third line, the SIMD path, depends on the machine)
"$MLDEDUP" --version | sed -n 1,2p
