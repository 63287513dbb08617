# a healthy store: nothing to say
"$MLDEDUP" fsck --deep --store "$W/s.db"; echo "exit $?"
