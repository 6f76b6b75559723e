"""The Torch Olympics as data: the metrics, the five events, the two divisions, and the rules
that judge a submission's figures against them.

A submission optimizes one of two reference systems (``kind``):

- ``"lenet"``: the 1998 LeNet on the shipped digits. Metrics: ``accuracy`` on the 364
  held-out digits (higher is better), ``p90_latency_s``, the SingleStream 90th-percentile
  latency of one digit (lower), ``held_bytes`` (lower).
- ``"gpt"``: the 2017 character GPT. Metrics: ``val_loss``, the mean cross-entropy per
  character over the held-out tenth of the text, in nats (lower), ``tokens_per_second`` of a
  fixed greedy generation workload (higher), ``held_bytes`` (lower).

Each kind has a *quality* metric (accuracy / validation loss), a *speed* metric (p90 latency /
throughput) and the *size* (held bytes). An event ranks by one of them, or by a score, and
adds its constraints; a division fixes what may be changed and the quality floor:

- **closed**: the reference architecture (structured pruning may narrow layers; no layer is
  added, removed or retyped other than by quantization), only the techniques of
  :data:`CLOSED_TECHNIQUES` (post-training quantization, pruning with a fine-tune on the
  training split, KV caching, acceleration), and quality at least MLPerf's 99% of the
  reference: ``accuracy >= 0.99 * reference``, or for the GPT ``val_loss <= reference + 0.05``
  nats.
- **open**: any technique and architecture; the event's own floor
  (:attr:`Event.open_floor`).

Example:
    >>> EVENTS["latency-sprint"].ranking("lenet")
    ('p90_latency_s', 'min')
    >>> quality_floor("closed", EVENTS["latency-sprint"], "gpt", reference=1.50)
    ('val_loss', '<=', 1.55)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CLOSED_TECHNIQUES",
    "DIVISIONS",
    "EVENTS",
    "KINDS",
    "METRICS",
    "Division",
    "Event",
    "Metric",
    "all_around_score",
    "check_constraints",
    "extreme_score",
    "quality_floor",
    "rank_value",
    "ratios",
]

KINDS = ("lenet", "gpt")


@dataclass(frozen=True)
class Metric:
    """A measured figure: its name, unit, which way is better, and what it is."""

    name: str
    unit: str
    better: str  # "max" or "min"
    description: str


METRICS: dict[str, dict[str, Metric]] = {
    "lenet": {
        "quality": Metric("accuracy", "fraction", "max", "accuracy on the 364 held-out digits"),
        "speed": Metric(
            "p90_latency_s", "s", "min", "SingleStream 90th-percentile latency of one digit"
        ),
        "size": Metric("held_bytes", "bytes", "min", "bytes held by the system (held_nbytes)"),
    },
    "gpt": {
        "quality": Metric(
            "val_loss", "nats", "min", "cross-entropy per character on the held-out text"
        ),
        "speed": Metric(
            "tokens_per_second",
            "tokens/s",
            "max",
            "generated tokens / wall time of the fixed greedy workload (median of repeats)",
        ),
        "size": Metric(
            "held_bytes", "bytes", "min", "bytes held: weights, and the KV cache when one is used"
        ),
    },
}

#: Techniques the closed division allows, per kind.
CLOSED_TECHNIQUES: dict[str, frozenset[str]] = {
    "lenet": frozenset({"prune", "quantize", "accelerate"}),
    "gpt": frozenset({"kv-cache", "quantize-dynamic"}),
}

# The closed floors: MLPerf's 99% of the reference's accuracy, and for a loss an absolute
# margin (a ratio of losses means nothing across tokenizers; 0.05 nats is the milestone's).
CLOSED_ACCURACY_RATIO = 0.99
CLOSED_LOSS_MARGIN = 0.05


@dataclass(frozen=True)
class Event:
    """One event: what it ranks by (``"quality"``, ``"speed"``, ``"size"``, ``"all-around"``
    or ``"extreme"``), its constraints in words, the open division's quality floor (accuracy
    ratio, loss margin in nats), whether it is open only, and whether the optimized system
    must be no slower and no larger than the baseline."""

    name: str
    title: str
    ranks_by: str
    constraints: str
    open_floor: tuple[float, float]
    open_only: bool = False
    no_worse_speed_and_size: bool = False

    def ranking(self, kind: str) -> tuple[str, str]:
        """``(metric or score name, "max" | "min")`` this event ranks ``kind`` by."""
        if self.ranks_by == "all-around":
            return "all_around_score", "max"
        if self.ranks_by == "extreme":
            return "extreme_score", "max"
        metric = METRICS[kind][self.ranks_by]
        return metric.name, metric.better


EVENTS: dict[str, Event] = {
    e.name: e
    for e in (
        Event(
            "latency-sprint",
            "Latency sprint",
            "speed",
            "quality at least the division's floor",
            open_floor=(0.97, 0.10),
        ),
        Event(
            "memory-challenge",
            "Memory challenge",
            "size",
            "quality at least the division's floor",
            open_floor=(0.97, 0.10),
        ),
        Event(
            "accuracy-contest",
            "Accuracy contest",
            "quality",
            "speed and held bytes no worse than the baseline's (same run), quality at least "
            "the division's floor",
            open_floor=(0.97, 0.10),
            no_worse_speed_and_size=True,
        ),
        Event(
            "all-around",
            "All-around",
            "all-around",
            "quality at least the division's floor; ranked by the geometric mean of the "
            "speed, size and quality ratios to the baseline",
            open_floor=(0.97, 0.10),
        ),
        Event(
            "extreme-push",
            "Extreme push",
            "extreme",
            "open division only; quality at least 90% of the reference accuracy (GPT: within "
            "0.5 nats); ranked by speed ratio x size ratio",
            open_floor=(0.90, 0.50),
            open_only=True,
        ),
    )
}


@dataclass(frozen=True)
class Division:
    """A division: its name and its rules in words."""

    name: str
    rules: str


DIVISIONS: dict[str, Division] = {
    "closed": Division(
        "closed",
        "the reference architecture (pruned widths allowed, no new layers); only post-training "
        "quantization, pruning (with a fine-tune on the training split), KV caching and "
        "acceleration; accuracy >= 99% of the reference (GPT: validation loss <= reference + "
        "0.05 nats)",
    ),
    "open": Division("open", "any technique and architecture; the event's own quality floor"),
}


def quality_floor(
    division: str, event: Event, kind: str, reference: float
) -> tuple[str, str, float]:
    """``(metric, comparison, bound)`` the optimized quality must meet.

    >>> quality_floor("open", EVENTS["extreme-push"], "lenet", reference=0.98)
    ('accuracy', '>=', 0.882)
    """
    # BEGIN SOLUTION quality-floor
    # HINT: the closed division keeps 99% of the reference's accuracy (GPT: its loss + 0.05 nats);
    # HINT: the open one the event's own (ratio, margin); round the bound to 12 digits.
    # TESTS: floor or contest or invalid
    ratio, margin = (
        (CLOSED_ACCURACY_RATIO, CLOSED_LOSS_MARGIN) if division == "closed" else event.open_floor
    )
    if kind == "lenet":
        return "accuracy", ">=", round(ratio * reference, 12)
    return "val_loss", "<=", round(reference + margin, 12)
    # END SOLUTION


def ratios(
    kind: str, baseline: Mapping[str, float], optimized: Mapping[str, float]
) -> dict[str, float]:
    """Improvement ratios to the baseline, each > 1 when the optimized system is better:
    speed (baseline p90 / optimized p90, or optimized tokens/s / baseline tokens/s), size
    (baseline bytes / optimized bytes), quality (accuracy ratio, or ``exp(baseline loss -
    optimized loss)``, the ratio of perplexities).

    >>> r = ratios("lenet", {"accuracy": 0.9, "p90_latency_s": 2e-4, "held_bytes": 1000},
    ...            {"accuracy": 0.9, "p90_latency_s": 1e-4, "held_bytes": 250})
    >>> r["speed"], r["size"], r["quality"]
    (2.0, 4.0, 1.0)
    """
    # BEGIN SOLUTION ratios
    # HINT: every ratio is > 1 when the optimized system is better: latency and bytes divide
    # HINT: the baseline by the optimized, throughput and accuracy the other way round; a loss
    # HINT: gives exp(baseline - optimized).
    # TESTS: score or ranks or verifies
    if kind == "lenet":
        speed = baseline["p90_latency_s"] / optimized["p90_latency_s"]
        quality = optimized["accuracy"] / baseline["accuracy"]
    else:
        speed = optimized["tokens_per_second"] / baseline["tokens_per_second"]
        quality = math.exp(baseline["val_loss"] - optimized["val_loss"])
    size = baseline["held_bytes"] / optimized["held_bytes"]
    return {"speed": speed, "size": size, "quality": quality}
    # END SOLUTION


def all_around_score(r: Mapping[str, float]) -> float:
    """The all-around event's score: ``(speed * size * quality) ** (1/3)`` of :func:`ratios`
    (1.0 = the baseline; each axis counts alike).

    >>> all_around_score({"speed": 2.0, "size": 4.0, "quality": 1.0})
    2.0
    """
    # BEGIN SOLUTION all-around-score
    # HINT: the geometric mean of the three ratios: each axis counts alike.
    # TESTS: score or ranks or verifies
    return float((r["speed"] * r["size"] * r["quality"]) ** (1 / 3))
    # END SOLUTION


def extreme_score(r: Mapping[str, float]) -> float:
    """The extreme push's score: speed ratio x size ratio (quality only has to clear the floor).

    >>> extreme_score({"speed": 2.0, "size": 4.0, "quality": 0.5})
    8.0
    """
    return float(r["speed"] * r["size"])


def rank_value(
    event: Event, kind: str, baseline: Mapping[str, float], optimized: Mapping[str, float]
) -> float:
    """The figure ``event`` ranks a submission by.

    >>> rank_value(EVENTS["memory-challenge"], "lenet", {}, {"held_bytes": 7})
    7.0
    """
    name, _ = event.ranking(kind)
    if name == "all_around_score":
        return all_around_score(ratios(kind, baseline, optimized))
    if name == "extreme_score":
        return extreme_score(ratios(kind, baseline, optimized))
    return float(optimized[name])


def check_constraints(
    event: Event,
    division: str,
    kind: str,
    baseline: Mapping[str, float],
    optimized: Mapping[str, float],
) -> list[tuple[str, str]]:
    """Each broken constraint as ``(field, reason)``, naming both values; empty: all hold.

    >>> base = {"accuracy": 0.98, "p90_latency_s": 2e-4, "held_bytes": 1000}
    >>> opt = {"accuracy": 0.95, "p90_latency_s": 1e-4, "held_bytes": 900}
    >>> for field, why in check_constraints(EVENTS["latency-sprint"], "closed", "lenet", base, opt):
    ...     print(field, "|", why)
    metrics.optimized.accuracy | 0.95 is below the closed division's floor 0.9702 (99% of the \
reference 0.98)
    """
    problems: list[tuple[str, str]] = []
    if event.open_only and division != "open":
        problems.append(
            ("division", f"{event.name} is an open-division event; got division {division!r}")
        )
    quality = METRICS[kind]["quality"].name
    metric, op, bound = quality_floor(division, event, kind, baseline[quality])
    value = optimized[metric]
    where = f"the {division} division's floor" if division == "closed" else f"{event.name}'s floor"
    if op == ">=" and not value >= bound:
        ratio = CLOSED_ACCURACY_RATIO if division == "closed" else event.open_floor[0]
        problems.append(
            (
                f"metrics.optimized.{metric}",
                f"{value:.6g} is below {where} {bound:.6g} ({ratio:.0%} of the reference "
                f"{baseline[metric]:.6g})",
            )
        )
    if op == "<=" and not value <= bound:
        margin = CLOSED_LOSS_MARGIN if division == "closed" else event.open_floor[1]
        problems.append(
            (
                f"metrics.optimized.{metric}",
                f"{value:.6g} nats is above {where} {bound:.6g} (the reference "
                f"{baseline[metric]:.6g} + {margin} nats)",
            )
        )
    if event.no_worse_speed_and_size:
        speed = METRICS[kind]["speed"]
        b, o = baseline[speed.name], optimized[speed.name]
        if (speed.better == "min" and o > b) or (speed.better == "max" and o < b):
            worse = "slower" if speed.better == "min" else "lower"
            problems.append(
                (
                    f"metrics.optimized.{speed.name}",
                    f"{o:.6g} {speed.unit} is {worse} than the baseline's {b:.6g} {speed.unit}; "
                    f"{event.name} asks for no worse",
                )
            )
        if optimized["held_bytes"] > baseline["held_bytes"]:
            problems.append(
                (
                    "metrics.optimized.held_bytes",
                    f"{optimized['held_bytes']:,} bytes is more than the baseline's "
                    f"{baseline['held_bytes']:,}; {event.name} asks for no worse",
                )
            )
    return problems
