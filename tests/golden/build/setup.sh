toy >/dev/null
