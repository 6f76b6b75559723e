"""The environment a measurement was taken in, recorded beside it.

A latency means little without the machine: the CPU model (``/proc/cpuinfo``'s ``model name``
on Linux, else :func:`platform.processor`), the core count, Python, NumPy and the BLAS it was
built against (from ``numpy.show_config(mode="dicts")``, NumPy >= 1.25), the thread settings
(:func:`tinytorch.profiling.latency.thread_settings`: the BLAS thread variables and, where
threadpoolctl is installed, each pool's thread count) and the version of every installed
``tinytorch-*`` distribution (:mod:`importlib.metadata`).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from typing import Any

import numpy as np

from tinytorch.profiling.latency import thread_settings

__all__ = ["blas_info", "cpu_model", "environment", "tinytorch_versions"]


def cpu_model() -> str:
    """The CPU's model name, from ``/proc/cpuinfo`` where there is one.

    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas_info() -> dict[str, Any]:
    """The BLAS NumPy was built with: its ``name`` and ``version`` (``None`` where NumPy does
    not say).

    >>> sorted(blas_info())
    ['name', 'version']
    """
    try:
        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return {"name": blas.get("name"), "version": blas.get("version")}
    except (TypeError, KeyError, AttributeError):  # NumPy < 1.25 has no dicts mode
        return {"name": None, "version": None}


def tinytorch_versions() -> dict[str, str]:
    """``{distribution: version}`` for every installed ``tinytorch-*`` distribution.

    >>> versions = tinytorch_versions()
    >>> "tinytorch-benchmarking" in versions, versions["tinytorch-benchmarking"].count(".")
    (True, 2)
    """
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("tinytorch"):
            found[name] = dist.version
    return dict(sorted(found.items()))


def environment() -> dict[str, Any]:
    """Everything above as one JSON-ready dict, with the UTC date and time.

    >>> env = environment()
    >>> sorted(env)  # doctest: +NORMALIZE_WHITESPACE
    ['blas', 'cores', 'cpu', 'date', 'machine', 'numpy', 'platform', 'python', 'threads',
     'tinytorch']
    """
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "threads": thread_settings(),
        "tinytorch": tinytorch_versions(),
    }
