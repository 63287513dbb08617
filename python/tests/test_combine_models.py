"""python3 -m mldedup.combine_models: ANEMLL's combine_models.py command line."""
import os
import shutil
import subprocess
import sys

import pytest

import mldedup.combine_models
from conftest import mldedup as run_cli

PKG = os.path.join(os.path.dirname(__file__), "..")


def module(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(PKG) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mldedup.combine_models"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, cwd=cwd)


def test_module_real_anemll(fixtures, tmp_path):
    d = os.path.join(fixtures, "anemll-ctx256")
    p = module("--lut", "6", "--chunk", "2", "--prefix", "qwen25", "--input", d, "--output", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["qwen25_FFN_PF_lut6_chunk_01of02.mlpackage",
                                                        "qwen25_FFN_PF_lut6_chunk_02of02.mlpackage"]
    assert "qwen25_embeddings.mlpackage" in p.stderr and "left as they are" in p.stderr
    p = module("--lut", "6", "--chunk", "3", "--prefix", "qwen25", "--input", d, "--output", str(tmp_path / "out3"))
    assert p.returncode == 1 and "qwen25_FFN_lut6_chunk_03of03.mlpackage" in p.stderr
    assert not os.path.exists(str(tmp_path / "out3"))


def test_module_usage_and_missing_binary(tmp_path, monkeypatch):
    p = module("--lut", "x", "--chunk", "2")
    assert p.returncode == 2 and "--lut x" in p.stderr
    p = module("--lut", "6")  # chunked mode needs --chunk, as in ANEMLL
    assert p.returncode == 2 and "--chunk is required" in p.stderr
    monkeypatch.setenv("MLDEDUP", str(tmp_path / "none"))
    assert mldedup.combine_models.main(["--chunk", "1"]) == 1


def test_defaults_input_is_cwd(fixtures, tmp_path):
    """--input defaults to ., --output to the input, --prefix to llama."""
    d = os.path.join(fixtures, "anemll-mono")
    for f in os.listdir(d):
        if f.endswith(".mlpackage"):
            shutil.copytree(os.path.join(d, f), str(tmp_path / f.replace("qwen25", "llama")))
    p = module("--monolithic", "--lut", "6,4", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert os.path.isdir(str(tmp_path / "llama_monolithic_full_lut6.mlpackage"))
