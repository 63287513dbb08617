#!/usr/bin/env bash
# combine_fixtures: every group of every expected.json, combined with a fresh store and
# a JSON report, verified against its sources and checked against the answer key
# (see combine_check.c: weight.bin within 1% of correct_min, must_share / must_not_share /
# near pairs, byte- and dequant-identical sets).
source "$(dirname "$0")/lib.sh"
need_fixtures
"$COMBINE_CHECK" fixtures "$F" "$T"
