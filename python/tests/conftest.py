"""Shared helpers of the Python tests: the mldedup binary, the fixtures, packages' values."""
import json
import os
import subprocess

import pytest

FIXTURES = os.environ.get("MLD_FIXTURES_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                                               "fixtures")


def fixtures_dir():
    return FIXTURES if os.path.isfile(os.path.join(FIXTURES, "manifest.json")) else None


@pytest.fixture
def fixtures():
    d = fixtures_dir()
    if not d:
        pytest.skip("fixtures not found at %s (set MLD_FIXTURES_DIR)" % FIXTURES)
    return d


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    """Every test gets its own store, never the user's."""
    monkeypatch.setenv("MLDEDUP_STORE", str(tmp_path / "store.db"))


def mldedup(*args, check=True):
    from mldedup import find_binary
    p = subprocess.run([find_binary()] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise AssertionError("mldedup %s failed: %s" % (" ".join(map(str, args)), p.stderr.decode()))
    return p


def values(pkg, fn, name):
    """Dense values of a weight, as bytes (mldedup cat)."""
    return mldedup("cat", pkg, fn, name).stdout


def logical_names(pkg_path):
    """logical weight -> weight name in the package's function main, from its .ref.json."""
    ref = pkg_path[: -len(".mlpackage")] + ".ref.json"
    with open(ref) as f:
        d = json.load(f)
    out = {}
    for w in d["functions"]["main"]["weights"]:
        out.setdefault(w.get("logical_weight") or w["name"], w["name"])
    return out


def groups(fixtures):
    """(set, set dir, group) for every group of every expected.json."""
    with open(os.path.join(fixtures, "manifest.json")) as f:
        json.load(f)
    for s in sorted(os.listdir(fixtures)):
        e = os.path.join(fixtures, s, "expected.json")
        if os.path.isfile(e):
            with open(e) as f:
                for g in json.load(f)["groups"]:
                    yield s, os.path.join(fixtures, s), g


def member_path(set_dir, m):
    """A member's package path (multictx members live in ctxN/ folders)."""
    p = os.path.join(set_dir, m["package"])
    if os.path.isdir(p):
        return p
    for sub in sorted(os.listdir(set_dir)):
        q = os.path.join(set_dir, sub, m["package"])
        if os.path.isdir(q):
            return q
    raise AssertionError("member %s not found under %s" % (m["package"], set_dir))
