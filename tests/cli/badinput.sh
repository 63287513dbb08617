#!/usr/bin/env bash
# cli_badinput: every kind of bad input gives a clear error on stderr naming the file
# and the problem, exit 1 (failure) or 2 (usage), and never a crash or a sanitizer
# report. Uses only synthetic packages (mldtest mkpkg), so it runs without ../shared.
source "$(dirname "$0")/lib.sh"

GOOD=$T/good.mlpackage
"$MLDTEST" mkpkg "$GOOD" || { echo "FAIL: mldtest mkpkg"; exit 1; }
W=Data/com.apple.CoreML/weights/weight.bin
M=Data/com.apple.CoreML/model.mlmodel

# Layout of the synthetic weight.bin (canonical packing, blobs in writer order):
#   metadata 64 (w_dense fp16, data 128..256) ... last: metadata 1280 (w_f32 fp32,
#   data 1344..1408), file size 1408. Checked here so a generator change is noticed.
eq "synthetic weight.bin size" "$(filesize "$GOOD/$W")" 1408
run "$MLDEDUP" ls --json "$GOOD"
grep -q '"offset": 1280' "$T/out" && ok || bad "synthetic layout: no blob metadata at 1280"

# A fresh writable copy of the good package.
fresh() {
	rm -rf "$T/$1.mlpackage"
	cp -r "$GOOD" "$T/$1.mlpackage"
	echo "$T/$1.mlpackage"
}
# patch FILE OFFSET PRINTF-BYTES: overwrite bytes in place
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

# bad_pkg DESCRIPTION PKG PATTERN...: ls, cat and index all fail with exit 1 and
# messages naming the package and matching every pattern.
bad_pkg() {
	local what=$1 pkg=$2
	shift 2
	expect 1 "$what (ls)" "$pkg" "$@" -- "$MLDEDUP" ls "$pkg"
	expect 1 "$what (cat)" "$pkg" "$@" -- "$MLDEDUP" cat "$pkg" main w_dense
	expect 1 "$what (index)" "$pkg" "$@" -- "$MLDEDUP" index --store "$T/bad.db" "$pkg"
}

# ---- the good package works (so failures below are the corruption's doing) --------
expect 0 "good package: ls" -- "$MLDEDUP" ls "$GOOD"
expect 0 "good package: index" -- "$MLDEDUP" index --store "$T/good.db" "$GOOD"
"$MLDEDUP" cat "$GOOD" main w_dense >"$T/cat.bin" 2>"$T/err"
eq "good package: cat w_dense bytes" "$(filesize "$T/cat.bin")" 128

# ---- weight.bin ---------------------------------------------------------------------
P=$(fresh trunc_header); truncate_to "$P/$W" 40
bad_pkg "weight.bin shorter than its header" "$P" "weight.bin" "truncated blob file"

P=$(fresh trunc_data); truncate_to "$P/$W" 1400
bad_pkg "last blob's data runs past EOF" "$P" "weight.bin" "lies outside the file"

P=$(fresh trunc_meta); truncate_to "$P/$W" 1300
bad_pkg "blob metadata offset past EOF" "$P" "weight.bin" "offset 1280 is outside the file"

P=$(fresh empty_bin); : >"$P/$W"
bad_pkg "empty weight.bin" "$P" "weight.bin" "truncated blob file"

P=$(fresh sentinel); patch "$P/$W" 64 '\x00\x11\x22\x33'
bad_pkg "wrong sentinel" "$P" "weight.bin" "no blob metadata at offset 64" "0xDEADBEEF"

P=$(fresh sentinel_last); patch "$P/$W" 1280 '\xff'
bad_pkg "wrong sentinel of the last blob" "$P" "weight.bin" "offset 1280" "sentinel"

P=$(fresh dtype); patch "$P/$W" 68 '\x02' # fp16 (code 1) -> fp32 (code 2)
bad_pkg "blob dtype differs from the model's" "$P" "weight.bin" "holds fp32 but the model declares fp16"

P=$(fresh dtype_unknown); patch "$P/$W" 68 '\x63' # code 99
bad_pkg "unknown blob dtype code" "$P" "weight.bin" "unknown dtype code 99"

P=$(fresh size); patch "$P/$W" 72 '\x7e' # sizeInBytes 128 -> 126: 63 elements for 64
bad_pkg "blob element count differs from the shape" "$P" "weight.bin" "holds 63 elements"

P=$(fresh size_huge); patch "$P/$W" 72 '\xff\xff\xff\xff\xff\xff\xff\xff'
bad_pkg "blob size of 2^64-1" "$P" "weight.bin" "lies outside the file"

P=$(fresh data_off); patch "$P/$W" 80 '\x00\x00\x00\x00\x00\x00\x00\x80' # dataOffset 2^63
bad_pkg "blob data offset of 2^63" "$P" "weight.bin" "lies outside the file"

P=$(fresh padding); patch "$P/$W" 280 '\x09' # uint4 indices: padding 9 bits
bad_pkg "sub-byte padding of 9 bits" "$P" "weight.bin" "invalid padding of 9 bits"

P=$(fresh version1); patch "$P/$W" 4 '\x01'
bad_pkg "blob storage version 1" "$P" "weight.bin" "blob storage version 1"

P=$(fresh no_bin); rm "$P/$W"
bad_pkg "weight.bin missing" "$P" "weight.bin" "missing"

P=$(fresh bin_dir); rm "$P/$W"; mkdir "$P/$W"
bad_pkg "weight.bin is a directory" "$P" "weight.bin"
# ... inside a zip: said "truncated blob file: 0 bytes" (issue 9)
"$MLDTEST" mkzip "$T/bin_dir.zip" "$P"
bad_pkg "weight.bin is an empty directory in a zip" "$T/bin_dir.zip" "weight.bin: is a directory in the zip"
P=$(fresh bin_dir2); rm "$P/$W"; mkdir "$P/$W"; echo x >"$P/$W/x"
"$MLDTEST" mkzip "$T/bin_dir2.zip" "$P"
bad_pkg "weight.bin is a directory with a file in a zip" "$T/bin_dir2.zip" "weight.bin: is a directory in the zip"

P=$(fresh no_weights_dir); rm -r "$P/Data/com.apple.CoreML/weights"
bad_pkg "weights item missing" "$P" "Manifest.json" "com.apple.CoreML/weights" "does not exist"

# ---- model.mlmodel ------------------------------------------------------------------
P=$(fresh proto_bytes); printf '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' >"$P/$M"
bad_pkg "model.mlmodel of random bytes" "$P" "model.mlmodel" "corrupt protobuf"

P=$(fresh proto_trunc); head -c 700 "$GOOD/$M" >"$P/$M"
bad_pkg "truncated model.mlmodel" "$P" "model.mlmodel" "corrupt protobuf"

P=$(fresh proto_bin); cp "$GOOD/$W" "$P/$M"
bad_pkg "weight.bin bytes as model.mlmodel" "$P" "model.mlmodel" "corrupt protobuf"

P=$(fresh proto_empty); : >"$P/$M"
bad_pkg "empty model.mlmodel" "$P" "model.mlmodel" "not an ML Program"

P=$(fresh no_model); rm "$P/$M"
bad_pkg "model.mlmodel missing" "$P" "Manifest.json" "model.mlmodel" "does not exist"

P="$T/huge.mlpackage"
"$MLDTEST" mkpkg "$P" --huge-shape
bad_pkg "const shape [2^40, 2^40] overflows" "$P" "w_huge" "shape element count overflows"

# An 8-byte immediate palette declared as fp16 [2^39]: refused before any allocation
# (it once asked for 1 TiB). Only w_lut16 is affected; the other weights still work.
P="$T/hugeimm.mlpackage"
"$MLDTEST" mkpkg "$P" --huge-immediate
expect 1 "immediate declaring 2^39 elements (ls)" "$P" "w_lut16" "8 bytes for 549755813888 fp16 elements" -- \
	"$MLDEDUP" ls "$P"
expect 1 "immediate declaring 2^39 elements (cat)" "$P" "w_lut16" "8 bytes for 549755813888 fp16 elements" -- \
	"$MLDEDUP" cat "$P" main w_lut16
expect 1 "immediate declaring 2^39 elements (index)" "$P" "w_lut16" -- "$MLDEDUP" index --store "$T/bad.db" "$P"
expect 0 "immediate declaring 2^39 elements: other weights still decode" -- "$MLDEDUP" cat "$P" main w_lut

# ---- Manifest.json ----------------------------------------------------------------------
# manifest PKG [KEY=VALUE...]: write a manifest; fields: version, root, mpath, wpath,
# and drop=<key> (top-level key) or mdrop=<key> (a key of the model item).
manifest() {
	local pkg=$1 version='"1.0.0"' root='"M-ID"' mpath='"com.apple.CoreML/model.mlmodel"'
	local wpath='"com.apple.CoreML/weights"' drop="" mdrop=""
	shift
	local kv
	for kv in "$@"; do
		case $kv in
		version=*) version=${kv#version=} ;;
		root=*) root=${kv#root=} ;;
		mpath=*) mpath=${kv#mpath=} ;;
		wpath=*) wpath=${kv#wpath=} ;;
		drop=*) drop=${kv#drop=} ;;
		mdrop=*) mdrop=${kv#mdrop=} ;;
		esac
	done
	{
		echo "{"
		[ "$drop" = fileFormatVersion ] || echo "  \"fileFormatVersion\": $version,"
		if [ "$drop" != itemInfoEntries ]; then
			echo "  \"itemInfoEntries\": {"
			echo "    \"M-ID\": {"
			local first=1 k v
			for k in author description name path; do
				[ "$k" = "$mdrop" ] && continue
				case $k in
				author) v='"com.apple.CoreML"' ;;
				description) v='"CoreML Model Specification"' ;;
				name) v='"model.mlmodel"' ;;
				path) v=$mpath ;;
				esac
				[ $first = 1 ] || echo ","
				printf '      "%s": %s' "$k" "$v"
				first=0
			done
			echo
			echo "    },"
			echo "    \"W-ID\": {\"author\": \"com.apple.CoreML\", \"description\": \"CoreML Model Weights\","
			echo "               \"name\": \"weights\", \"path\": $wpath}"
			echo "  },"
		fi
		[ "$drop" = rootModelIdentifier ] || echo "  \"rootModelIdentifier\": $root,"
		echo "  \"x-end\": 0"
		echo "}"
	} >"$pkg/Manifest.json"
}

P=$(fresh manifest_ok); manifest "$P"
expect 0 "hand-written manifest (control)" -- "$MLDEDUP" ls "$P"

P=$(fresh no_version); manifest "$P" drop=fileFormatVersion
bad_pkg "manifest without fileFormatVersion" "$P" "Manifest.json" 'missing key "fileFormatVersion"'

P=$(fresh new_version); manifest "$P" version='"2.0.0"'
bad_pkg "manifest fileFormatVersion 2.0.0" "$P" "Manifest.json" '"2.0.0" is not supported'

P=$(fresh bad_version); manifest "$P" version='"1.0"'
bad_pkg "manifest fileFormatVersion 1.0" "$P" "Manifest.json" '"1.0" is not supported'

P=$(fresh num_version); manifest "$P" version=1
bad_pkg "manifest fileFormatVersion not a string" "$P" "Manifest.json" "fileFormatVersion"

P=$(fresh no_root); manifest "$P" drop=rootModelIdentifier
bad_pkg "manifest without rootModelIdentifier" "$P" "Manifest.json" 'missing key "rootModelIdentifier"'

P=$(fresh wrong_root); manifest "$P" root='"NOPE"'
bad_pkg "rootModelIdentifier not in itemInfoEntries" "$P" "Manifest.json" '"NOPE" is not in itemInfoEntries'

P=$(fresh no_items); manifest "$P" drop=itemInfoEntries
bad_pkg "manifest without itemInfoEntries" "$P" "Manifest.json" "rootModelIdentifier"

for key in path name author description; do
	P=$(fresh "no_item_$key"); manifest "$P" mdrop=$key
	bad_pkg "manifest item without \"$key\"" "$P" "Manifest.json" "lacks the string key \"$key\""
done

P=$(fresh dotdot); manifest "$P" mpath='"../x"'
bad_pkg "manifest path ../x" "$P" "Manifest.json" "points outside the package"

P=$(fresh dotdot_deep); manifest "$P" mpath='"com.apple.CoreML/../../../etc/passwd"'
bad_pkg "manifest path through .." "$P" "Manifest.json" "points outside the package"

P=$(fresh absolute); manifest "$P" mpath='"/etc/passwd"'
bad_pkg "manifest path absolute" "$P" "Manifest.json" "/etc/passwd"

P=$(fresh missing_item); manifest "$P" mpath='"com.apple.CoreML/nope.mlmodel"'
bad_pkg "manifest path to a missing file" "$P" "Manifest.json" "Data/com.apple.CoreML/nope.mlmodel" "does not exist"

mkdir -p "$T/outside"
cp "$GOOD/$M" "$T/outside/model.mlmodel"
P=$(fresh symlink_model); rm "$P/$M"; ln -s "$T/outside/model.mlmodel" "$P/$M"
bad_pkg "model.mlmodel symlink escaping the package" "$P" "resolves outside the package"

P=$(fresh symlink_rel); rm "$P/$M"; ln -s ../../../outside/model.mlmodel "$P/$M"
bad_pkg "relative symlink escaping the package" "$P" "resolves outside the package"

cp -r "$GOOD/Data/com.apple.CoreML/weights" "$T/outside/weights"
P=$(fresh symlink_weights); rm -r "$P/Data/com.apple.CoreML/weights"
ln -s "$T/outside/weights" "$P/Data/com.apple.CoreML/weights"
bad_pkg "weights directory symlink escaping the package" "$P" "resolves outside the package"

P=$(fresh symlink_loop); rm "$P/$M"; ln -s model.mlmodel "$P/$M"
bad_pkg "model.mlmodel symlink loop" "$P" "model.mlmodel" "Too many levels of symbolic links"

P=$(fresh symlink_inside); mkdir "$P/Data/elsewhere"; mv "$P/$M" "$P/Data/elsewhere/model.mlmodel"
ln -s ../elsewhere/model.mlmodel "$P/$M"
expect 0 "symlink that stays inside the package (control)" -- "$MLDEDUP" ls "$P"

P=$(fresh bad_json); printf '{"fileFormatVersion": "1.0.0", "itemInfoEntries": {' >"$P/Manifest.json"
bad_pkg "Manifest.json invalid JSON" "$P" "Manifest.json" "invalid JSON"

P=$(fresh json_array); echo '[1, 2, 3]' >"$P/Manifest.json"
bad_pkg "Manifest.json not an object" "$P" "Manifest.json" "not a JSON object"

P=$(fresh json_empty); : >"$P/Manifest.json"
bad_pkg "Manifest.json empty" "$P" "Manifest.json" "invalid JSON"

P=$(fresh no_manifest); rm "$P/Manifest.json"
bad_pkg "Manifest.json missing" "$P" "Manifest.json is missing"

# ---- paths and zips ------------------------------------------------------------------------
P=$T/does-not-exist.mlpackage
bad_pkg "nonexistent path" "$P" "No such file or directory"

P=$T/not-a-zip.zip; printf 'this is not a zip file at all' >"$P"
bad_pkg "regular file that is not a zip" "$P" "not a readable zip"

P=$T/empty-dir.mlpackage; mkdir -p "$P"
bad_pkg "empty directory" "$P" "Manifest.json is missing"

P=$T/nopkg.zip; "$MLDTEST" mkzip "$P" --file "README.txt=no package here" --file "x/Manifest.json={}"
bad_pkg "zip holding no package" "$P" "zip holds no .mlpackage"

cp -r "$GOOD" "$T/other.mlpackage"
P=$T/two.zip; "$MLDTEST" mkzip "$P" "$GOOD" "$T/other.mlpackage"
bad_pkg "zip holding two packages" "$P" "zip holds 2 .mlpackage folders"

P=$T/trunc.zip; "$MLDTEST" mkzip "$T/full.zip" "$GOOD"; head -c 1000 "$T/full.zip" >"$P"
bad_pkg "truncated zip" "$P" "not a readable zip"

P=$(fresh zip_sentinel); patch "$P/$W" 64 '\x00\x00\x00\x00'
"$MLDTEST" mkzip "$T/zsent.zip" "$P"
bad_pkg "zip whose weight.bin has a wrong sentinel" "$T/zsent.zip" "zip_sentinel.mlpackage/$W" "sentinel"

P=$(fresh zip_nomanifest); rm "$P/Manifest.json"; mkdir -p "$P/sub.mlpackage"; echo '{}' >"$P/sub.mlpackage/x"
"$MLDTEST" mkzip "$T/znoman.zip" "$P"
bad_pkg "zip of a package without Manifest.json" "$T/znoman.zip" "zip holds no .mlpackage"

# ---- weights and functions that do not exist --------------------------------------------
expect 1 "cat of an unknown weight" "$GOOD" 'no weight "nosuch"' -- "$MLDEDUP" cat "$GOOD" main nosuch
expect 1 "cat of an unknown function" "$GOOD" 'no function "nofn"' "functions: main" -- \
	"$MLDEDUP" cat "$GOOD" nofn w_dense

# ---- the store ----------------------------------------------------------------------------
printf 'this is not an SQLite database, just some bytes that are long enough.....%.0s' {1..20} >"$T/junk.db"
expect 1 "store that is not SQLite" "$T/junk.db" "not a usable mldedup store" -- \
	"$MLDEDUP" index --store "$T/junk.db" "$GOOD"
mkdir -p "$T/storedir"
expect 1 "store path is a directory" "$T/storedir" -- "$MLDEDUP" index --store "$T/storedir" "$GOOD"
expect 1 "index of a missing package among good ones" "$T/missing.mlpackage" -- \
	"$MLDEDUP" index --store "$T/mixed.db" "$GOOD" "$T/missing.mlpackage" "$T/other.mlpackage"
eq "index goes on after a bad package" "$("$MLDTEST" sql "$T/mixed.db" 'SELECT count(*) FROM packages')" 2

# ---- usage errors: exit 2 -----------------------------------------------------------------------
expect 2 "no arguments" "usage: mldedup" -- "$MLDEDUP"
expect 2 "unknown command" "'bogus' is not a command" -- "$MLDEDUP" bogus
expect 2 "ls without a package" "mldedup ls:" "--help" -- "$MLDEDUP" ls
expect 2 "ls with two packages" "mldedup ls:" -- "$MLDEDUP" ls "$GOOD" "$GOOD"
expect 2 "ls with an unknown long option" "unknown option --bogus" -- "$MLDEDUP" ls --bogus "$GOOD"
expect 2 "ls with an unknown short option" "unknown option -Z" -- "$MLDEDUP" ls -Z "$GOOD"
expect 2 "cat with two arguments" "expected PKG FUNCTION NAME" -- "$MLDEDUP" cat "$GOOD" main
expect 2 "cat with four arguments" "expected PKG FUNCTION NAME" -- "$MLDEDUP" cat "$GOOD" main w_dense extra
expect 2 "cat with no arguments" "mldedup cat:" -- "$MLDEDUP" cat
expect 2 "cat with an option it lacks" "unknown option --json" -- "$MLDEDUP" cat --json "$GOOD" main w_dense
expect 2 "index without packages" "no packages given" -- "$MLDEDUP" index --store "$T/u.db"
expect 2 "index --store without its argument" "needs an argument" -- "$MLDEDUP" index --store
expect 2 "index with an unknown option" "unknown option --frobnicate" -- "$MLDEDUP" index --frobnicate "$GOOD"

# ---- --help on every command: exit 0, usage and options on stdout ----------------------------------
help_ok() { # help_ok DESCRIPTION PATTERN... -- COMMAND...
	local what=$1
	shift
	local pats=()
	while [ "$1" != "--" ]; do pats+=("$1"); shift; done
	shift
	expect 0 "$what" -- "$@"
	local p
	for p in "${pats[@]}"; do
		grep -qF -- "$p" "$T/out" && ok || bad "$what: stdout lacks '$p'"
	done
}
help_ok "mldedup --help" "usage: mldedup" "index" "ls" "cat" -- "$MLDEDUP" --help
help_ok "mldedup -h" "usage: mldedup" -- "$MLDEDUP" -h
help_ok "mldedup help" "usage: mldedup" -- "$MLDEDUP" help
help_ok "mldedup help ls" "usage: mldedup ls" "--json" -- "$MLDEDUP" help ls
help_ok "mldedup --version" "mldedup " -- "$MLDEDUP" --version
help_ok "ls --help" "usage: mldedup ls" "--json" "--no-header" "--no-digest" "--store" "--verbose" "--quiet" "--help" \
	"exit status" -- "$MLDEDUP" ls --help
help_ok "ls -h" "usage: mldedup ls" -- "$MLDEDUP" ls -h
help_ok "cat --help" "usage: mldedup cat" "FUNCTION NAME" "--store" "--help" -- "$MLDEDUP" cat --help
help_ok "index --help" "usage: mldedup index" "--json" "--store" "--verbose" "--quiet" "--help" -- \
	"$MLDEDUP" index --help
help_ok "--help after other arguments" "usage: mldedup ls" -- "$MLDEDUP" ls --no-header --help

# Every command `mldedup --help` lists: `CMD --help` and `help CMD` exit 0 with its usage
# and the common options; an unknown option is a usage error (exit 2).
mapfile -t COMMANDS < <("$MLDEDUP" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ ${#COMMANDS[@]} -ge 3 ] && ok || bad "mldedup --help lists ${#COMMANDS[@]} commands"
for c in "${COMMANDS[@]}"; do
	help_ok "$c --help" "usage: mldedup $c" "--help" "--store" "exit status" -- "$MLDEDUP" "$c" --help
	help_ok "help $c" "usage: mldedup $c" -- "$MLDEDUP" help "$c"
	expect 2 "$c with an unknown option" "unknown option --no-such-option" "mldedup $c --help" -- \
		"$MLDEDUP" "$c" --no-such-option
done

finish
