"""Shared fixtures: short-trained references and tiny measuring settings, so that the suite
checks the rules quickly (the point of these tests is the checking, not the models)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tinytorch.benchmarking import TestSettings
from tinytorch.capstone import Reference, Submission, submit, train_reference

# Latency is noisy on a shared machine (with more processes than cores, OpenBLAS's spinning
# threads made one re-measured generation 25-45x slower); tests whose point is not latency
# allow a reproduction up to 100x slower, and the latency tests edit a figure by 1000x.
LOOSE = 99.0

TINY_LENET = TestSettings("SingleStream", min_query_count=40, min_duration=0.02, warmup=5).to_dict()
# val_windows: the validation loss over the first 64 windows of the held-out text only.
TINY_GPT = {
    "prompts": 2, "prompt_len": 8, "new_tokens": 4, "warmup": 1, "repeats": 2, "val_windows": 64
}  # fmt: skip


@pytest.fixture(scope="session")
def lenet_ref() -> Reference:
    return train_reference("lenet", budget=3)


@pytest.fixture(scope="session")
def gpt_ref() -> Reference:
    # The untrained character GPT: what these tests check (hashes, exact reproduction, the
    # rules, a cache keeping the tokens) does not need a trained one, and training costs.
    from tinytorch.profiling.workloads import char_gpt

    return Reference("gpt", char_gpt()[0].eval(), None, 0, 0.0)


Make = Callable[..., Submission]


@pytest.fixture
def make(lenet_ref: Reference, request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    def run(
        event: str,
        division: str,
        techniques: list[tuple[str, dict[str, Any]]],
        kind: str = "lenet",
        out: Path | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Submission:
        ref = lenet_ref if kind == "lenet" else request.getfixturevalue("gpt_ref")
        settings = settings or (TINY_LENET if kind == "lenet" else TINY_GPT)
        return submit(event, division, kind, techniques, out or tmp_path, True, ref, settings)

    return run


def _copy_submission(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = json.loads(path.read_text())
    for entry in doc["weights"].values():
        shutil.copy(path.parent / entry["file"], folder / entry["file"])
    target = folder / path.name
    shutil.copy(path, target)
    return target


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.fixture
def copy_submission() -> Callable[[Path, Path], Path]:
    """Copy a document and its weights files into a folder; returns the copy's path."""
    return _copy_submission


@pytest.fixture
def edit() -> Callable[[Path, Callable[[dict[str, Any]], None]], None]:
    """Change a document on disk through a function of its dict."""
    return _edit
