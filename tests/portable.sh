# Portable stand-ins for what only GNU coreutils has (a Mac has BSD tools): sourced by the
# test scripts (through testlib.sh, or directly).
#   sha256 [FILE...]      sha256sum, else shasum -a 256 (same output)
#   filesize FILE         bytes (stat -c %s / stat -f %z differ)
#   truncate_to FILE N    the first N bytes (truncate -s is GNU only)
#   now_ns                nanoseconds since the epoch (date +%s%N is GNU only; bash 5's
#                         EPOCHREALTIME, else perl)
#   touch_at EPOCH FILE   set FILE's mtime (touch -d @N is GNU only)
#   ncpu                  the number of online CPUs (nproc is GNU only)
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }
filesize() { wc -c <"$1" | tr -d ' '; }
truncate_to() { head -c "$2" "$1" >"$1.truncating" && cat "$1.truncating" >"$1" && rm -f "$1.truncating"; }
now_ns() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local s=${EPOCHREALTIME%[.,]*} us=${EPOCHREALTIME#*[.,]}
		echo "$s${us}000"
	elif date +%N | grep -q '^[0-9]'; then
		date +%s%N
	else
		perl -MTime::HiRes=time -e 'printf "%.0f\n", time() * 1e9'
	fi
}
touch_at() {
	if date -d @0 >/dev/null 2>&1; then touch -d "@$1" "$2"; else touch -t "$(date -r "$1" +%Y%m%d%H%M.%S)" "$2"; fi
}
ncpu() { getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2; }
