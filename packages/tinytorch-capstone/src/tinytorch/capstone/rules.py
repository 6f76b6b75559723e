"""The rules a submission's document must keep, judged on its figures: the division's (which
techniques, which architecture), the event's constraints and quality floor, and its score.

:func:`rule_problems` is what ``submit`` reports and what ``verify`` applies after it has
re-measured the figures; each problem is ``(field, reason)`` naming both values.

Example:
    >>> reference_spec("lenet")["layers"][0]["type"]
    'Conv2d'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from tinytorch.capstone.architecture import float_skeleton, spec_of, widths
from tinytorch.capstone.events import (
    CLOSED_TECHNIQUES,
    EVENTS,
    check_constraints,
    rank_value,
    ratios,
)
from tinytorch.tensor import Generator

__all__ = [
    "division_problems",
    "reference_spec",
    "rule_problems",
    "score_problems",
    "validity_problems",
]

Problem = tuple[str, str]


@functools.lru_cache(maxsize=2)
def _reference_spec(kind: str) -> str:
    import json

    if kind == "lenet":
        from tinytorch.profiling.workloads import lenet_model

        return json.dumps(spec_of("lenet", lenet_model(Generator(0))))
    from tinytorch.profiling.workloads import char_gpt

    return json.dumps(spec_of("gpt", char_gpt()[0]))


def reference_spec(kind: str) -> dict[str, Any]:
    """The reference architecture's spec: the 1998 LeNet or the 2017 character GPT."""
    import json

    spec: dict[str, Any] = json.loads(_reference_spec(kind))
    return spec


def division_problems(document: Mapping[str, Any]) -> list[Problem]:
    """The baseline must be the reference architecture; in the closed division the optimized
    model keeps its layers (quantized or narrowed only) and uses only closed techniques."""
    kind = document["model"]["kind"]
    ref = reference_spec(kind)
    base, opt = document["model"]["baseline"], document["model"]["optimized"]
    problems: list[Problem] = []
    if float_skeleton(base) != float_skeleton(ref) or widths(base) != widths(ref):
        problems.append(("model.baseline", f"is not the reference {kind} architecture"))
    if base["executor"] != ref["executor"] or base.get("dynamic_int8"):
        problems.append(("model.baseline", "the baseline must be the float reference, run eagerly"))
    if document["division"] != "closed":
        return problems
    allowed = CLOSED_TECHNIQUES[kind]
    for i, t in enumerate(document["techniques"]):
        if t["name"] not in allowed:
            problems.append(
                (
                    f"techniques[{i}].name",
                    f"{t['name']!r} is not allowed in the closed division (allowed for {kind}: "
                    f"{', '.join(sorted(allowed))})",
                )
            )
    if float_skeleton(opt) != float_skeleton(ref):
        problems.append(
            (
                "model.optimized",
                "the closed division keeps the reference architecture's layers (pruned widths "
                "and quantized layers only); the optimized model's layers differ",
            )
        )
    else:
        for i, (w, w_ref) in enumerate(zip(widths(opt), widths(ref), strict=True)):
            if w > w_ref:
                problems.append(
                    (
                        "model.optimized",
                        f"layer {i} is {w} wide, wider than the reference's {w_ref}",
                    )
                )
    return problems


def score_problems(document: Mapping[str, Any]) -> list[Problem]:
    """The document's score must be what its figures give (pure arithmetic, recomputed)."""
    kind = document["model"]["kind"]
    event = EVENTS[document["event"]]
    base, opt = document["metrics"]["baseline"], document["metrics"]["optimized"]
    name, better = event.ranking(kind)
    score = document["score"]
    problems: list[Problem] = []
    if score["ranks_by"] != name or score["better"] != better:
        problems.append(
            (
                "score.ranks_by",
                f"{event.name} ranks {kind} by {name} ({better}), not {score['ranks_by']} "
                f"({score['better']})",
            )
        )
    value = rank_value(event, kind, base, opt)
    if not math.isclose(score["value"], value, rel_tol=1e-12, abs_tol=0.0):
        problems.append(
            ("score.value", f"{score['value']!r} is not what the metrics give: {value!r}")
        )
    for axis, r in ratios(kind, base, opt).items():
        if not math.isclose(score["ratios"][axis], r, rel_tol=1e-12):
            problems.append(
                (
                    f"score.ratios.{axis}",
                    f"{score['ratios'][axis]!r} is not what the metrics give: {r!r}",
                )
            )
    return problems


def validity_problems(document: Mapping[str, Any]) -> list[Problem]:
    """A run module 19 judged INVALID (too few queries, too short, below 99% of the reference
    in the closed division) is refused, as MLPerf refuses one."""
    return [
        (f"metrics.{role}.valid", "module 19 judged the run INVALID: " + "; ".join(m["reasons"]))
        for role, m in document["metrics"].items()
        if role != "comparison" and not m["valid"]
    ]


def rule_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Every rule the document breaks: division, event constraints, score, module 19's
    validity."""
    kind = document["model"]["kind"]
    event = EVENTS[document["event"]]
    base, opt = document["metrics"]["baseline"], document["metrics"]["optimized"]
    return [
        *division_problems(document),
        *validity_problems(document),
        *check_constraints(event, document["division"], kind, base, opt),
        *score_problems(document),
    ]
