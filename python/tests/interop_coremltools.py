#!/usr/bin/env python3
"""Interop check (local, not CI): prepare_dedup_sources + coremltools' save_multifunction
against `mldedup combine`, on every fixture group.

    PYTHONPATH=python:$CT_SRC[:$ANEMLL_SRC] MLDEDUP=build/mldedup \\
        python3 python/tests/interop_coremltools.py [FIXTURES_DIR]

For each group of each expected.json it writes, in a temporary directory:
  * mldedup.prepare_dedup_sources(...) + ct.utils.save_multifunction(...)
  * mldedup.combine(...)
  * (when ANEMLL is importable) ANEMLL's own prepare_dedup_sources + save_multifunction
and prints the weight.bin sizes side by side with the answer key's standard_blob_dedup
and correct_min. It exits 1 when the first route is larger than mldedup combine on a
group coremltools can load. Without coremltools it says so and exits 0 (skipped).
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import mldedup  # noqa: E402
from conftest import member_path  # noqa: E402


def wbin(pkg):
    return os.path.getsize(os.path.join(pkg, "Data", "com.apple.CoreML", "weights", "weight.bin"))


def save_mf(ct, sources, out):
    desc = ct.utils.MultiFunctionDescriptor()
    for path, src_fn, tgt_fn in sources:
        desc.add_function(path, src_fn, tgt_fn)
    desc.default_function_name = sources[0][2]
    ct.utils.save_multifunction(desc, out)


def main(argv):
    try:
        import coremltools as ct
    except Exception as e:  # ImportError, or a half-built native part
        print("SKIP: coremltools is not importable (%s); nothing compared" % e)
        return 0
    try:
        from anemll.utils.dedup_weights import prepare_dedup_sources as anemll_prepare
    except Exception:
        anemll_prepare = None
    fixtures = argv[1] if len(argv) > 1 else os.environ.get("MLD_FIXTURES_DIR") or os.path.join(HERE, "..", "..", "..",
                                                                                                "shared", "fixtures")
    os.environ.setdefault("MLDEDUP_STORE", os.path.join(tempfile.mkdtemp(prefix="mldedup-interop-"), "store.db"))
    print("coremltools %s, ANEMLL's prepare_dedup_sources %s" % (ct.__version__, "found" if anemll_prepare else "not found"))
    cols = ("set/group", "std_dedup", "correct_min", "mldedup", "mldedup+ct", "anemll+ct")
    print("%-34s %11s %11s %11s %11s %11s" % cols)
    worse = 0
    for s in sorted(os.listdir(fixtures)):
        e = os.path.join(fixtures, s, "expected.json")
        if not os.path.isfile(e):
            continue
        with open(e) as f:
            for g in json.load(f)["groups"]:
                sd = os.path.join(fixtures, s)
                sources = [(member_path(sd, m), m["source_function"], m["function"]) for m in g["members"]]
                pred = g["weight_bin_prediction"]
                row = {"mldedup": "-", "mldedup+ct": "-", "anemll+ct": "-"}
                with tempfile.TemporaryDirectory(prefix="mldedup-interop-") as tmp:
                    row["mldedup"] = mldedup.combine(os.path.join(tmp, "m.mlpackage"), sources)["bytes_after"]
                    try:
                        with mldedup.prepare_dedup_sources(sources) as deduped:
                            save_mf(ct, deduped, os.path.join(tmp, "c.mlpackage"))
                        row["mldedup+ct"] = wbin(os.path.join(tmp, "c.mlpackage"))
                    except Exception as ex:
                        row["mldedup+ct"] = "n/a"
                        print("  %s/%s: coremltools: %s" % (s, g["group"], str(ex).splitlines()[0][:100]))
                    if anemll_prepare:
                        try:
                            with anemll_prepare(sources) as deduped:
                                save_mf(ct, deduped, os.path.join(tmp, "a.mlpackage"))
                            row["anemll+ct"] = wbin(os.path.join(tmp, "a.mlpackage"))
                        except Exception as ex:
                            row["anemll+ct"] = "n/a"
                if isinstance(row["mldedup+ct"], int) and row["mldedup+ct"] > row["mldedup"]:
                    worse += 1
                print("%-34s %11s %11s %11s %11s %11s" % ("%s/%s" % (s, g["group"]), pred.get("standard_blob_dedup"),
                                                           pred.get("correct_min"), row["mldedup"], row["mldedup+ct"],
                                                           row["anemll+ct"]), flush=True)
    if worse:
        print("%d group(s): prepare_dedup_sources + save_multifunction larger than mldedup combine" % worse)
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
