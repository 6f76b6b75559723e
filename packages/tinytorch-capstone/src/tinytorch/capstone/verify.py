"""The verifier: re-measure a submission from what it ships, and refuse what does not hold.

:func:`verify` takes these steps, in order, and collects every refusal as ``(field, reason)``
with both values:

1. the document against the schema (bad input raises
   :class:`~tinytorch.capstone.submission.SubmissionError`, naming the field);
2. the SHA-256 of both weights files, and of the evaluation data, rebuilt from what ships with
   the packages (the held-out digits, or the held-out text);
3. both models rebuilt from their specs (no pickle) and their weights loaded strictly;
4. every figure re-measured with the document's settings: accuracy or validation loss and
   held bytes **exactly** (the same data through the same arithmetic), the generated tokens'
   hash exactly, and the p90 latency / throughput within ``latency_tolerance``: a reproduced
   p90 above ``(1 + tol) x`` the submitted one, or a throughput below ``submitted / (1 +
   tol)``, is refused. A figure that claims *worse* than reproduced is not refused: it cannot
   win anything it did not earn;
5. the division's rules, the event's constraints and the score
   (:func:`tinytorch.capstone.rules.rule_problems`), on the re-measured quality and bytes.

**The default tolerance is 2.0** (a reproduction may be up to 3x slower than submitted). On
the project's shared 2-core build machine, module 19 measured the same system's SingleStream
p90 at 41.2 us and 24.9 us in two full runs 6 minutes apart (1.65x) at a load average of
about 3, and this module's first quick int8 LeNet submission re-measured at 2.8x its
submitted p90 (435 us, then 1224 us) at a load average of 4: a tighter default would refuse
honest submissions on a busy machine, and 3x still refuses a figure improved by editing it
tenfold. On a quiet, dedicated machine pass a tighter one (``--latency-tolerance 0.2``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytorch.acceleration import compile_inference
from tinytorch.capstone.architecture import SpecError, build
from tinytorch.capstone.events import METRICS
from tinytorch.capstone.measure import array_sha256
from tinytorch.capstone.references import eval_arrays
from tinytorch.capstone.rules import rule_problems
from tinytorch.capstone.submission import file_sha256, load_document, measure_system
from tinytorch.capstone.techniques import System, TechniqueError
from tinytorch.profiling.latency import thread_settings
from tinytorch.training import load

__all__ = ["DEFAULT_LATENCY_TOLERANCE", "VerifyReport", "verify"]

DEFAULT_LATENCY_TOLERANCE = 2.0

Problem = tuple[str, str]


@dataclass
class VerifyReport:
    """The verdict on one submission: ``accepted``, every refusal ``(field, reason)``, the
    re-measured metrics per role, and the document."""

    path: Path
    document: dict[str, Any]
    refusals: list[Problem] = field(default_factory=list)
    remeasured: dict[str, dict[str, Any]] = field(default_factory=dict)
    tolerance: float = DEFAULT_LATENCY_TOLERANCE
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when nothing was refused."""
        return not self.refusals

    def __str__(self) -> str:
        doc = self.document
        head = f"{self.path}: {doc['event']} / {doc['division']} / {doc['model']['kind']}"
        notes = [f"  note: {note}" for note in self.notes]
        if self.accepted:
            kind = doc["model"]["kind"]
            figures = ", ".join(
                f"{m.name} {_figure(self.remeasured['optimized'][m.name])}"
                for m in METRICS[kind].values()
            )
            line = f"{head}: ACCEPTED (re-measured: {figures}; tolerance {self.tolerance})"
            return "\n".join([line, *notes])
        lines = [f"{head}: REFUSED"]
        lines += [f"  {where}: {why}" for where, why in self.refusals]
        return "\n".join([*lines, *notes])


def _figure(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.6g}"


def _load_system(doc: Mapping[str, Any], role: str, folder: Path) -> System:
    spec = doc["model"][role]
    model = build(spec, where=f"model.{role}")
    state = load(folder / doc["weights"][role]["file"])
    model.load_state_dict(state, strict=True)
    model.eval()
    plan = compile_inference(model) if spec["executor"] == "compile_inference" else None
    return System(spec["kind"], model, spec["executor"], plan)


def _compare(
    role: str, kind: str, submitted: Mapping[str, Any], again: Mapping[str, Any], tol: float
) -> list[Problem]:
    # BEGIN SOLUTION reproduce
    # HINT: quality, held bytes (and the GPT's tokens' hash) must come back exactly; a latency may
    # HINT: be at most (1 + tol) x the submitted one, a throughput at least submitted / (1 + tol);
    # HINT: name each field that does not reproduce, with both values.
    # TESTS: verif or edited or changed or reproduces or tolerance
    problems: list[Problem] = []
    quality, speed = METRICS[kind]["quality"].name, METRICS[kind]["speed"].name
    exact = [quality, "held_bytes"] + (["tokens_sha256"] if kind == "gpt" else [])
    for name in exact:
        if submitted[name] != again[name]:
            problems.append(
                (
                    f"metrics.{role}.{name}",
                    f"submitted {submitted[name]!r}, re-measured {again[name]!r} "
                    "(must be equal exactly)",
                )
            )
    s, r = float(submitted[speed]), float(again[speed])
    if speed == "p90_latency_s" and r > (1 + tol) * s:
        problems.append(
            (
                f"metrics.{role}.{speed}",
                f"submitted {s * 1e6:.2f} us, re-measured {r * 1e6:.2f} us: more than "
                f"(1 + {tol}) x the submitted p90",
            )
        )
    if speed == "tokens_per_second" and r < s / (1 + tol):
        problems.append(
            (
                f"metrics.{role}.{speed}",
                f"submitted {s:.2f} tokens/s, re-measured {r:.2f} tokens/s: below submitted / "
                f"(1 + {tol})",
            )
        )
    return problems
    # END SOLUTION


def verify(
    path: str | os.PathLike[str], latency_tolerance: float = DEFAULT_LATENCY_TOLERANCE
) -> VerifyReport:
    """Verify the submission at ``path`` (see the module docstring); the weights files are
    read from the document's folder. Raises ``SubmissionError`` for a document that is not a
    submission; returns a :class:`VerifyReport` otherwise.

    Example:
        >>> import tempfile
        >>> from tinytorch.capstone.submission import submit
        >>> s = submit("memory-challenge", "closed", "lenet", [("quantize", {})],
        ...            tempfile.mkdtemp(), quick=True)
        >>> verify(s.path).accepted
        True
    """
    if not latency_tolerance >= 0:
        raise ValueError(f"verify: latency_tolerance must be >= 0, got {latency_tolerance!r}")
    path = Path(path)
    doc = load_document(path)
    report = VerifyReport(path, doc, tolerance=latency_tolerance)
    submitted = {k: v for k, v in doc["environment"].get("threads", {}).items() if "THREADS" in k}
    here = {k: v for k, v in thread_settings().items() if "THREADS" in k}
    if submitted != here:
        # BLAS splits its sums differently at another thread count: last bits may differ.
        report.notes.append(
            f"BLAS thread settings differ: submitted {submitted}, here {here}; exact figures "
            "(accuracy, validation loss) may then differ in their last bits"
        )
    _remeasure(report, latency_tolerance)
    # The rules read only the document: judged even when the files could not be measured.
    report.refusals.extend(rule_problems(doc))
    return report


def _remeasure(report: VerifyReport, tol: float) -> None:
    path, doc = report.path, report.document
    refuse = report.refusals.extend
    kind = doc["model"]["kind"]
    for role in ("baseline", "optimized"):
        entry = doc["weights"][role]
        file = path.parent / entry["file"]
        if not file.is_file():
            refuse([(f"weights.{role}.file", f"{str(file)!r} does not exist")])
            continue
        digest = file_sha256(file)
        if digest != entry["sha256"]:
            refuse([(f"weights.{role}.sha256", f"submitted {entry['sha256']}, the file's is "
                     f"{digest}")])  # fmt: skip
    data = eval_arrays(kind)
    digest = array_sha256(*data)
    if digest != doc["data"]["sha256"]:
        refuse([("data.sha256", f"submitted {doc['data']['sha256']}, the data shipped here "
                 f"hashes to {digest}")])  # fmt: skip
    if report.refusals:
        return  # nothing measured from files or data that are not the submitted ones
    systems = {}
    for role in ("baseline", "optimized"):
        try:
            systems[role] = _load_system(doc, role, path.parent)
        except (SpecError, TechniqueError, KeyError, ValueError, TypeError) as err:
            refuse([(f"model.{role}", f"cannot rebuild it with its weights: {err}")])
    if report.refusals:
        return
    quality = METRICS[kind]["quality"].name
    settings = doc["settings"]
    try:
        base, _ = measure_system(systems["baseline"], data, settings, name=f"{kind}-baseline")
        target = base[quality] if doc["division"] == "closed" else None
        opt, _ = measure_system(systems["optimized"], data, settings, target, f"{kind}-opt")
    except (TypeError, ValueError, KeyError) as err:
        refuse([("settings", f"cannot measure with these settings: {err!r}")])
        return
    report.remeasured = {"baseline": base, "optimized": opt}
    for role, again in report.remeasured.items():
        refuse(_compare(role, kind, doc["metrics"][role], again, tol))
