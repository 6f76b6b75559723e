"""Each event's and division's constraint, broken by a submitted model, is refused (one test
each), by ``submit`` (it reports) and by ``verify`` (it refuses), naming the field."""

from __future__ import annotations

import pytest

from tinytorch.capstone import EVENTS, check_constraints, verify

LOOSE = 99.0  # see conftest

# Nine tenths of every conv channel and hidden neuron gone, no fine-tune: the accuracy falls.
GUTTED = [("prune", {"amount": 0.9, "epochs": 0})]


def refused(submission) -> dict[str, str]:
    report = verify(submission.path, LOOSE)
    assert not report.accepted
    assert set(dict(submission.problems)) <= set(dict(report.refusals))
    return dict(report.refusals)


@pytest.mark.parametrize("event", ["latency-sprint", "memory-challenge", "all-around"])
def test_the_closed_floor_is_99_percent_of_the_reference(make, event) -> None:
    s = make(event, "closed", GUTTED)
    reason = refused(s)["metrics.optimized.accuracy"]
    assert "below the closed division's floor" in reason
    assert "99% of the reference" in reason


@pytest.mark.parametrize("event", ["latency-sprint", "memory-challenge", "all-around"])
def test_the_open_floor_is_the_events_own(make, event) -> None:
    s = make(event, "open", GUTTED)
    reason = refused(s)["metrics.optimized.accuracy"]
    assert f"below {event}'s floor" in reason
    assert "97% of the reference" in reason


def test_extreme_push_is_open_only(make) -> None:
    s = make("extreme-push", "closed", [("quantize", {})])
    assert "open-division event" in refused(s)["division"]


def test_extreme_push_has_its_own_floor(make) -> None:
    s = make("extreme-push", "open", GUTTED)
    assert "90% of the reference" in refused(s)["metrics.optimized.accuracy"]


def test_accuracy_contest_asks_for_no_slower(make) -> None:
    # int8 on NumPy is slower than float32 at batch 1 (no int8 GEMM; tinytorch-quantization's
    # README measures 1.5-2.3x): the same run measures both, so the constraint is deterministic.
    s = make("accuracy-contest", "closed", [("quantize", {})])
    assert "asks for no worse" in refused(s)["metrics.optimized.p90_latency_s"]


def test_accuracy_contest_asks_for_no_larger(make) -> None:
    # A full-rank factorization keeps the function but stores more than the layer it replaces.
    s = make("accuracy-contest", "open", [("low-rank", {"energy": 1.0, "epochs": 0})])
    assert "more than the baseline's" in refused(s)["metrics.optimized.held_bytes"]


def test_the_closed_division_allows_only_its_techniques(make) -> None:
    s = make("memory-challenge", "closed", [("low-rank", {"energy": 0.9, "epochs": 0})])
    reasons = refused(s)
    assert "'low-rank' is not allowed in the closed division" in reasons["techniques[0].name"]
    assert "layers differ" in reasons["model.optimized"]


def test_the_same_model_is_fine_in_the_open_division(make) -> None:
    s = make("memory-challenge", "open", [("low-rank", {"energy": 0.9, "epochs": 1})])
    report = verify(s.path, LOOSE)
    # Whatever its accuracy, the architecture and the technique are not refused in the open.
    assert not {"techniques[0].name", "model.optimized"} & set(dict(report.refusals))


def test_the_gpt_closed_floor_is_reference_plus_005_nats() -> None:
    base = {"val_loss": 1.50, "tokens_per_second": 100.0, "held_bytes": 1000}
    for loss, broken in ((1.55, False), (1.5501, True)):
        opt = {**base, "val_loss": loss}
        problems = check_constraints(EVENTS["latency-sprint"], "closed", "gpt", base, opt)
        assert bool(problems) is broken
    (where, why), *_ = check_constraints(
        EVENTS["latency-sprint"], "closed", "gpt", base, {**base, "val_loss": 1.6}
    )
    assert where == "metrics.optimized.val_loss"
    assert "1.5 + 0.05 nats" in why


def test_the_gpt_contest_asks_for_no_lower_throughput() -> None:
    base = {"val_loss": 1.50, "tokens_per_second": 100.0, "held_bytes": 1000}
    opt = {**base, "tokens_per_second": 99.0}
    ((where, why),) = check_constraints(EVENTS["accuracy-contest"], "open", "gpt", base, opt)
    assert where == "metrics.optimized.tokens_per_second"
    assert "lower than" in why


def test_a_baseline_that_is_not_the_reference_is_refused(make, edit, copy_submission, tmp_path):
    s = make("memory-challenge", "closed", [("quantize", {})])
    copy = copy_submission(s.path, tmp_path / "base")
    edit(copy, lambda d: d["model"]["baseline"]["layers"][9].update(p=0.5))  # Dropout 0.3
    reasons = [why for where, why in verify(copy, LOOSE).refusals if where == "model.baseline"]
    assert reasons == ["is not the reference lenet architecture"]


def test_a_run_module_19_judged_invalid_is_refused(make) -> None:
    from tinytorch.benchmarking import TestSettings

    short = TestSettings("SingleStream", min_query_count=100, max_query_count=10, warmup=1)
    s = make("memory-challenge", "closed", [("quantize", {})], settings=short.to_dict())
    reasons = refused(s)
    for role in ("baseline", "optimized"):
        assert (
            "INVALID: too few queries: 10 < min_query_count 100" in reasons[f"metrics.{role}.valid"]
        )
