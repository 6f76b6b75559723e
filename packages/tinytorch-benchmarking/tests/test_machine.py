"""The environment recorded beside every result."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

import numpy as np

from tinytorch.benchmarking import environment
from tinytorch.benchmarking.machine import blas_info, cpu_model, tinytorch_versions


def _own_version() -> str:
    """This package's version as its pyproject.toml declares it (what installing it reports)."""
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert match is not None
    return match.group(1)


def test_environment_records_the_machine() -> None:
    env = environment()
    assert env["cores"] == os.cpu_count()
    assert env["python"] == platform.python_version()
    assert env["numpy"] == np.__version__
    assert set(env["threads"]) >= {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "cpu_count"}
    assert env["cpu"] == cpu_model()
    assert env["cpu"]
    assert json.loads(json.dumps(env)) == env  # JSON-ready


def test_blas_and_versions() -> None:
    info = blas_info()
    if tuple(int(v) for v in np.__version__.split(".")[:2]) >= (1, 25):
        assert info["name"]  # NumPy >= 1.25 names its BLAS
    versions = tinytorch_versions()
    assert versions["tinytorch-benchmarking"] == _own_version()
    assert "tinytorch-profiling" in versions
    assert "tinytorch-quantization" in versions
