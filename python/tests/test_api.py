"""mldedup's Python API: combine, prepare_dedup_sources (over mldedup align), errors."""
import json
import os
import shutil

import pytest

import mldedup
from conftest import groups, logical_names, member_path, mldedup as run_cli, values

SHARE = {"exact", "dequant_identical", "near"}  # the answer key's relations that may be shared


def test_find_binary_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MLDEDUP", str(tmp_path / "nope"))
    with pytest.raises(mldedup.MldedupError, match="MLDEDUP=.*nope.* is not an executable"):
        mldedup.find_binary()


def test_combine_stats_and_errors(fixtures, tmp_path):
    d = os.path.join(fixtures, "chunked")
    srcs = [(os.path.join(d, "toy_FFN_lut6_chunk_01of02.mlpackage"), "main", "infer"),
            (os.path.join(d, "toy_prefill_lut6_chunk_01of02.mlpackage"), "main", "prefill")]
    out = tmp_path / "c.mlpackage"
    st = mldedup.combine(out, srcs)
    assert st["functions"] == 2 and st["bytes_after"] == os.path.getsize(out / "Data/com.apple.CoreML/weights/weight.bin")
    exp = json.load(open(os.path.join(d, "expected.json")))["groups"][0]["weight_bin_prediction"]
    assert st["bytes_after"] <= exp["correct_min"]
    assert st["by_reason"]["deq_identical"] >= 1
    # an existing output is not replaced unless asked
    with pytest.raises(mldedup.MldedupError, match="already exists"):
        mldedup.combine(out, srcs)
    st2 = mldedup.combine(out, srcs, replace=True, default="prefill", store=False)
    assert st2["bytes_after"] == st["bytes_after"]
    # mldedup's own message, naming the file
    bad = [srcs[0], (str(tmp_path / "missing.mlpackage"), "main", "prefill")]
    with pytest.raises(mldedup.MldedupError) as e:
        mldedup.combine(tmp_path / "x.mlpackage", bad)
    assert "missing.mlpackage" in str(e.value) and e.value.returncode == 1
    assert not (tmp_path / "x.mlpackage").exists()
    with pytest.raises(mldedup.MldedupError) as e:
        mldedup.combine(tmp_path / "y.mlpackage", srcs, default="nosuch")
    assert e.value.returncode == 2 and "nosuch" in str(e.value)


def two_member_groups(fixtures):
    for s, sd, g in groups(fixtures):
        if len(g["members"]) == 2:
            yield s, sd, g


def test_prepare_dedup_sources_values(fixtures, tmp_path):
    """The rewritten package holds the anchor's values where the answer key allows
    sharing, its own elsewhere; coremltools can load only the iOS18 form, but every
    group is checked."""
    checked = 0
    for s, sd, g in two_member_groups(fixtures):
        a, b = g["members"]
        pa, pb = member_path(sd, a), member_path(sd, b)
        sources = [(pa, a["source_function"], a["function"]), (pb, b["source_function"], b["function"])]
        with mldedup.prepare_dedup_sources(sources, tmp_dir=str(tmp_path)) as deduped:
            if s == "ios16":  # an iOS16-form anchor comes back in the iOS18 form, the same values
                assert deduped[0][0] != pa
                p = run_cli("verify", deduped[0][0], "main=%s" % pa)
                assert b" 0 failures" in p.stdout + p.stderr
                pa_vals = deduped[0][0]
            else:
                pa_vals = pa
                assert deduped[0] == sources[0]
            assert [t[1:] for t in deduped] == [t[1:] for t in sources]
            new = deduped[1][0]
            rel = {k: w["members"][b["function"]]["relation"] for k, w in g["weights"].items()}
            if all(r == "exact" for r in rel.values()):
                assert new == pb, "%s/%s: nothing to rewrite, the source is kept" % (s, g["group"])
                continue
            assert new != pb and os.path.isdir(new) and new.startswith(str(tmp_path))
            na, nb = logical_names(pa), logical_names(pb)
            for key, r in rel.items():
                mine = values(new, "main", nb[key])
                if r in SHARE:
                    assert mine == values(pa_vals, "main", na[key]), "%s/%s %s (%s): not the anchor's values" % (
                        s, g["group"], key, r)
                else:
                    assert mine == values(pb, "main", nb[key]), "%s/%s %s (%s): not its own values" % (
                        s, g["group"], key, r)
                checked += 1
            # and it still is a faithful copy of its source
            p = run_cli("verify", new, "main=%s" % pb)
            assert b"0 failures" in p.stdout + p.stderr
        assert not os.path.exists(new), "the temporary is removed on exit"
    assert checked > 100


def test_prepare_dedup_sources_every_group_verifies(fixtures, tmp_path):
    """Every group (multictx's 10 functions too): the rewritten packages pass
    mldedup verify against their sources, and the temporaries go away."""
    for s, sd, g in groups(fixtures):
        sources = [(member_path(sd, m), m["source_function"], m["function"]) for m in g["members"]]
        with mldedup.prepare_dedup_sources(sources, tmp_dir=str(tmp_path)) as deduped:
            assert len(deduped) == len(sources)
            for (new, fn, tgt), (old, _, _) in zip(deduped, sources):
                if new != old:
                    p = run_cli("verify", new, "%s=%s:%s" % (fn, old, fn), check=False)
                    assert p.returncode == 0 and b" 0 failures" in p.stdout + p.stderr, p.stdout + p.stderr
        assert os.listdir(str(tmp_path)) in ([], ["store.db"]) or all(
            not e.startswith("mldedup-dedup-") for e in os.listdir(str(tmp_path)))


def test_prepare_dedup_sources_cleans_up_on_error(fixtures, tmp_path):
    d = os.path.join(fixtures, "chunked")
    sources = [(os.path.join(d, "toy_FFN_lut6_chunk_01of02.mlpackage"), "main", "infer"),
               (os.path.join(d, "toy_prefill_lut6_chunk_01of02.mlpackage"), "main", "prefill")]
    with pytest.raises(RuntimeError, match="boom"):
        with mldedup.prepare_dedup_sources(sources, tmp_dir=str(tmp_path)) as deduped:
            assert os.path.isdir(deduped[1][0])
            raise RuntimeError("boom")
    assert not [e for e in os.listdir(str(tmp_path)) if e.startswith("mldedup-dedup-")]
    # a source that does not exist: mldedup's message
    with pytest.raises(mldedup.MldedupError, match="nosuch.mlpackage"):
        with mldedup.prepare_dedup_sources([sources[0], (str(tmp_path / "nosuch.mlpackage"), "main", "p")]):
            pass
    # one source: nothing to do
    with mldedup.prepare_dedup_sources(sources[:1]) as same:
        assert same == sources[:1]


def test_prepare_dedup_sources_thresholds(fixtures, tmp_path):
    """A cosine threshold of 1 leaves only the identical and permuted copies."""
    d = os.path.join(fixtures, "chunked")
    pa, pb = (os.path.join(d, "toy_%s_lut6_chunk_01of02.mlpackage" % k) for k in ("FFN", "prefill"))
    doc_default = mldedup.align(pa, [pb], tmp_path / "a")
    doc_tight = mldedup.align(pa, [pb], tmp_path / "b", cos_threshold=1.0)
    assert doc_tight["outputs"][0]["rewritten"] < doc_default["outputs"][0]["rewritten"]
    assert doc_tight["by_reason"]["deq_close"] == 0 and doc_tight["by_reason"]["deq_identical"] >= 1
