"""The harness on real systems: the 1986 MLP and the 1998 LeNet, float32 vs int8 vs pruned.

Run:  python -m tools bench benchmarking   (or this file directly: [--quick] [--threads N]
[--out DIR] [--min-duration S] [--min-queries N]; one BLAS thread by default)

For each classifier (trained by its milestone recipe, tinytorch.profiling.trained), three
systems under test: the float32 model; static int8 (tinytorch.quantization prepare, calibrated
on the training digits, convert); and structurally pruned (tinytorch.compression
structured_prune, half the hidden neurons / conv channels removed, then fine-tuned as
tinytorch-compression's benchmark does). Each is measured on the 364 held-out digits in the
SingleStream scenario (one digit per query; metric p90 latency) and the Offline scenario (all
364 at once; metric samples/s), with the accuracy mode against 99% of the float model's
accuracy. Printed: the VALID/INVALID verdict of every run with its reasons, the full MLPerf-style
summary of one run and of a deliberately short (INVALID) one, bootstrap 95% intervals on the
float/optimized ratios of median and p90 latency, and the Pareto frontier. Written to --out:
one JSON result per run, every summary, and pareto.svg.

``--quick`` trains briefly and runs each scenario for 0.2 s (the runs stay VALID by shrinking
the minimums, which the summaries print).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import IO

from tinytorch.benchmarking import (
    BenchmarkResult,
    ParetoPoint,
    SampleSet,
    SystemUnderTest,
    TestSettings,
    benchmark,
    bootstrap_ratio,
    pareto_frontier,
    save,
    write_pareto_svg,
)
from tinytorch.compression import structured_prune, train_student
from tinytorch.layers import Module, Sequential
from tinytorch.optimizers import SGD, AdamW
from tinytorch.profiling.trained import TrainedClassifier, classifier_accuracy, train_classifier
from tinytorch.quantization import convert, held_nbytes, prepare
from tinytorch.training import CosineAnnealingLR
from tinytorch.training.checkpoint import atomic_write

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def _fine_tune(model: Module, trained: TrainedClassifier, epochs: int, lr: float) -> None:
    # tinytorch-compression's recipes: SGD with momentum for the MLP, AdamW + cosine for LeNet.
    loader = trained.loader(seed=0)
    if trained.name == "mlp":
        train_student(None, model, loader, SGD(model.parameters(), lr=lr, momentum=0.9),
                      epochs=epochs, alpha=0.0)  # fmt: skip
        return
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    for _ in range(epochs):
        train_student(None, model, loader, optimizer, epochs=1, alpha=0.0)
        schedule.step()


def systems(trained: TrainedClassifier, quick: bool) -> list[tuple[SystemUnderTest, str]]:
    """float32, int8 and pruned versions of ``trained``, each with what it is."""
    name = trained.name
    observed = prepare(trained.model)
    observed(trained.train.tensors[0])  # calibrate on every training digit
    int8 = convert(observed)
    assert isinstance(trained.model, Sequential)  # both milestone models are Sequentials
    if name == "mlp":
        pruned = structured_prune(trained.model, 0.5, layers=[0])
        _fine_tune(pruned, trained, 1 if quick else 10, lr=0.05)
        how = "hidden 128 -> 64, 10 epochs SGD"
    else:
        pruned = structured_prune(trained.model, 0.5, layers=[0, 3])
        _fine_tune(pruned, trained, 1 if quick else 15, lr=1e-3)
        how = "conv channels halved, 15 epochs AdamW"
    # Fine-tuning left a gradient on every parameter; a deployed system holds none.
    pruned.zero_grad()
    pruned.eval()
    found = []
    for suffix, model, what in (
        ("float32", trained.model, "the trained model"),
        ("int8", int8, "static PTQ, per-channel"),
        ("pruned", pruned, f"structured 50%, {how}"),
    ):
        model = copy.deepcopy(model) if suffix == "float32" else model
        sut = SystemUnderTest.from_model(f"{name}-{suffix}", model, held_nbytes(model))
        found.append((sut, what))
    return found


def _write_text(path: Path, text: str) -> None:
    def write(f: IO[bytes]) -> None:
        f.write(text.encode("utf-8"))

    atomic_write(path, write)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f}"


def main() -> None:
    p = bench.parser(__doc__, threads=1)
    p.add_argument("--out", type=Path, default=None, help="folder for JSON, summaries, SVG")
    p.add_argument("--min-duration", type=float, default=None, metavar="S")
    p.add_argument("--min-queries", type=int, default=None, metavar="N")
    args = bench.parse(p)
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="tinytorch-benchmarking-"))
    out.mkdir(parents=True, exist_ok=True)
    min_duration = args.min_duration if args.min_duration is not None else (
        0.2 if args.quick else 10.0)  # fmt: skip
    min_queries = args.min_queries if args.min_queries is not None else (
        64 if args.quick else 1024)  # fmt: skip
    print(bench.environment())
    print(f"scenarios: min_query_count {min_queries}, min_duration {min_duration} s; out {out}")

    models = ["mlp"]
    # The LeNet needs convolutions, which the vision track installs beside this module
    # (profiling's vision extra); without it, the MLP alone is measured.
    if importlib.util.find_spec("tinytorch.convolutions") is not None:
        models.append("lenet")
    else:
        print("LeNet skipped: tinytorch-convolutions is not installed")

    results: list[BenchmarkResult] = []
    rows = []
    points: list[ParetoPoint] = []
    ratio_rows = []
    summaries = []
    firsts: list[tuple[SystemUnderTest, SampleSet, float]] = []
    for name in models:
        epochs = (10 if name == "mlp" else 5) if args.quick else None
        trained = train_classifier(name, epochs=epochs)
        samples = SampleSet.from_dataset(trained.test, name="digits-test (364 held out)")
        reference = trained.accuracy
        by_scenario: dict[str, dict[str, BenchmarkResult]] = {"SingleStream": {}, "Offline": {}}
        for sut, what in systems(trained, args.quick):
            firsts.append((sut, samples, reference))
            for scenario in ("SingleStream", "Offline"):
                settings = TestSettings(scenario, min_query_count=min_queries,
                                        min_duration=min_duration)  # fmt: skip
                r = benchmark(sut, samples, settings, reference_accuracy=reference)
                results.append(r)
                by_scenario[scenario][sut.name] = r
                save(r, out / f"{sut.name}-{scenario}.json")
                summaries.append(r.summary())
                acc = r.accuracy["value"] if r.accuracy else float("nan")
                metric = (f"p90 {_us(r.value)} us" if scenario == "SingleStream"
                          else f"{r.value:,.0f} samples/s")  # fmt: skip
                verdict = "VALID" if r.valid else "INVALID: " + "; ".join(r.reasons)
                rows.append([sut.name, what, scenario, metric, _us(r.latency["p50"]),
                             f"{r.latency['cv']:.1%}", str(r.performance["queries"]),
                             f"{acc:.2%}", f"{r.nbytes:,}", verdict])  # fmt: skip
            single = by_scenario["SingleStream"][sut.name]
            assert single.accuracy is not None
            assert single.nbytes is not None
            points.append(ParetoPoint(sut.name, single.accuracy["value"], single.value,
                                      single.nbytes))  # fmt: skip
        base = by_scenario["SingleStream"][f"{name}-float32"]
        for other in (f"{name}-int8", f"{name}-pruned"):
            r = by_scenario["SingleStream"][other]
            for statistic in ("median", "p90"):
                ci = bootstrap_ratio(base.timings, r.timings, statistic=statistic, seed=0)
                ratio_rows.append([f"{name}-float32 / {other}", statistic, f"{ci.ratio:.3f}",
                                   f"[{ci.low:.3f}, {ci.high:.3f}]",
                                   f"{len(base.timings)} / {len(r.timings)}"])  # fmt: skip
        # The float model's accuracy, as classifier_accuracy measures it, is the reference.
        assert classifier_accuracy(trained.model, trained.test) == reference

    print()
    header = ["system", "what", "scenario", "metric", "p50 us", "cv", "queries or batches",
              "accuracy", "held bytes", "result"]  # fmt: skip
    title = "Every run (accuracy on the 364 held-out digits; target 99% of float):"
    print(bench.table(title, header, rows, markdown=True))
    print("\nThe MLPerf-style summary of the first run:")
    print(summaries[0])
    first_sut, first_samples, first_reference = firsts[0]
    short = benchmark(
        first_sut,
        first_samples,
        TestSettings(min_query_count=min_queries, min_duration=min_duration, max_query_count=50),
        reference_accuracy=first_reference,
    )
    save(short, out / "short-run-INVALID.json")
    summaries.append(short.summary())
    print("The same system stopped by max_query_count=50: what INVALID looks like:")
    print("\n".join(short.summary().splitlines()[:14]))
    print("\nSingleStream latency ratios, float32 / optimized (> 1: the optimized one is faster);")
    print("95% percentile-bootstrap intervals, 2000 resamples, seed 0 (runs not interleaved):")
    print(
        bench.table(
            "", ["pair", "statistic", "ratio", "95% CI", "queries"], ratio_rows, markdown=True
        )
    )
    frontier = {p.name for p in pareto_frontier(points)}
    print("\nPareto (accuracy, SingleStream p90, held bytes); * = Pareto-optimal:")
    for pt in points:
        mark = "*" if pt.name in frontier else " "
        print(f" {mark} {pt.name:14s} {pt.accuracy:.2%}  p90 {_us(pt.latency)} us  "
              f"{pt.nbytes:,} B")  # fmt: skip
    title = "Digits classifiers: accuracy / SingleStream p90 latency / bytes"
    caption = "measured by tinytorch.benchmarking; circle area = held bytes"
    write_pareto_svg(out / "pareto.svg", points, title, caption)
    _write_text(out / "summaries.txt", "\n".join(summaries))
    print(f"\nwrote {len(results) + 1} JSON results, summaries.txt and pareto.svg to {out}")


if __name__ == "__main__":
    main()
