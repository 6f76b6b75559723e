"""The environment recorded beside every result."""

from __future__ import annotations

import json
import os
import platform

import numpy as np

from tinytorch.benchmarking import environment
from tinytorch.benchmarking.machine import blas_info, cpu_model, tinytorch_versions


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
    assert versions["tinytorch-benchmarking"] == "0.1.0"
    assert "tinytorch-profiling" in versions
    assert "tinytorch-quantization" in versions
