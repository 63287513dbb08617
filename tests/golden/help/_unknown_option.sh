# an unknown option: named, with a hint, exit 2
"$MLDEDUP" ls --bogus x.mlpackage
