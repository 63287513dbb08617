#!/usr/bin/env bash
# cli_config: settings resolve as option > environment > nearest mldedup.conf (current
# directory or a parent) > user file ($XDG_CONFIG_HOME/mldedup/, else ~/.config/mldedup/) >
# default; `mldedup config` shows each value and where it came from (--json too); an
# unknown key or a bad line is an error naming the file and line, for every command that
# reads the settings (issue 9: the build's own store was not found in its directory).
source "$(dirname "$0")/lib.sh"
unset XDG_CONFIG_HOME

GOOD=$T/good.mlpackage
"$MLDTEST" mkpkg "$GOOD" || { echo "FAIL: mldtest mkpkg"; exit 1; }
P=$T/proj
mkdir -p "$P/sub/deeper" "$HOME/.config/mldedup" "$T/xdg/mldedup"
cd "$P/sub/deeper" || exit 1

# shows ORIGIN VALUE: `mldedup config` prints "(ORIGIN) store = VALUE"
shows() {
	expect 0 "config: $1" -- "$MLDEDUP" config "${@:3}"
	eq "config: $1" "$(cat "$T/out")" "($1) store = $2"
}
shows default "$HOME/.cache/mldedup/store.db"
printf '# the user file\nstore = %s\n' "$T/user.db" >"$HOME/.config/mldedup/mldedup.conf"
shows "$HOME/.config/mldedup/mldedup.conf:2" "$T/user.db"
printf 'store=%s\n' "$T/xdg.db" >"$T/xdg/mldedup/mldedup.conf"
XDG_CONFIG_HOME=$T/xdg shows "$T/xdg/mldedup/mldedup.conf:1" "$T/xdg.db"
printf '\n  # a comment\n\n   store   =   proj.db  \n' >"$P/mldedup.conf"
shows "$P/mldedup.conf:4" "$P/proj.db" # relative to the file's directory, beats the user file
printf 'store = sub.db\n' >"$P/sub/mldedup.conf"
shows "$P/sub/mldedup.conf:1" "$P/sub/sub.db" # the nearest file wins
MLDEDUP_STORE=$T/env.db shows MLDEDUP_STORE "$T/env.db"
MLDEDUP_STORE=$T/env.db shows --store "$T/opt.db" --store "$T/opt.db"

expect 0 "config --json" -- "$MLDEDUP" config --json
for want in '"format": 1' '"key": "store"' "\"value\": \"$P/sub/sub.db\"" '"origin": "directory file"' \
	"\"file\": \"$P/sub/mldedup.conf\"" '"line": 1' '"kind": "user file"' '"exists": true'; do
	grep -qF -- "$want" "$T/out" && ok || bad "config --json lacks $want: $(cat "$T/out")"
done
expect 0 "config -v names the files" "directory file: $P/sub/mldedup.conf" "user file: $HOME/.config/mldedup/mldedup.conf" -- \
	"$MLDEDUP" config -v

# the store it names is the one index and the query commands use
expect 0 "index into the directory's store" -- "$MLDEDUP" index -q "$GOOD"
[ -f "$P/sub/sub.db" ] && ok || bad "index did not create the configured store $P/sub/sub.db"
expect 0 "stats from the directory's store" -- "$MLDEDUP" stats --json
grep -qF "\"store\": \"$P/sub/sub.db\"" "$T/out" && grep -q '"packages": 1' "$T/out" && ok ||
	bad "stats did not read the configured store: $(head -5 "$T/out")"
rm -f "$P/sub/mldedup.conf"

# bad files: the file and the line named, for config and for a command reading the store
printf 'store = a.db\nstroe = b.db\n' >"$P/mldedup.conf"
for c in config stats "index $GOOD" "combine -o $T/o.mlpackage a=$GOOD b=$GOOD"; do
	expect 1 "$c: unknown key" "$P/mldedup.conf:2: unknown key 'stroe' (known: store)" -- "$MLDEDUP" $c
done
printf '# fine\nstore a.db\n' >"$P/mldedup.conf"
expect 1 "line without =" "$P/mldedup.conf:2: expected 'key = value'" -- "$MLDEDUP" stats
printf 'store =\n' >"$P/mldedup.conf"
expect 1 "key without a value" "$P/mldedup.conf:1: expected 'key = value', with a key and a value" -- "$MLDEDUP" config
printf '= x.db\n' >"$P/mldedup.conf"
expect 1 "value without a key" "$P/mldedup.conf:1:" -- "$MLDEDUP" config
printf 'stroe = x\n' >"$HOME/.config/mldedup/mldedup.conf"
rm -f "$P/mldedup.conf"
expect 1 "bad user file" "$HOME/.config/mldedup/mldedup.conf:1: unknown key 'stroe'" -- "$MLDEDUP" config
[ ! -e "$T/o.mlpackage" ] && ok || bad "a combine ran with a bad config file"
expect 2 "config takes no arguments" "takes no arguments" -- "$MLDEDUP" config store
finish
