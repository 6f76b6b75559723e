"""``python -m tinytorch.capstone submit | verify | leaderboard``: the Torch Olympics' commands.

Exit codes: 0 done (accepted), 1 refused (or a written submission that breaks its event's or
division's rules), 2 bad input (unknown event, division or technique; a file that is not a
submission).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tinytorch.capstone.architecture import SpecError
from tinytorch.capstone.events import DIVISIONS, EVENTS, KINDS, METRICS
from tinytorch.capstone.leaderboard import leaderboard
from tinytorch.capstone.measure import pin_threads
from tinytorch.capstone.submission import SubmissionError, submit
from tinytorch.capstone.techniques import TechniqueError, parse_techniques
from tinytorch.capstone.verify import DEFAULT_LATENCY_TOLERANCE, verify


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinytorch.capstone", description=__doc__)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads to measure with (default 1; 0: the library's default)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", help="train, optimize, measure and write a submission")
    s.add_argument("--event", required=True, choices=list(EVENTS))
    s.add_argument("--division", required=True, choices=list(DIVISIONS))
    s.add_argument("--model", required=True, choices=list(KINDS))
    s.add_argument(
        "--techniques",
        default="",
        help="in order, e.g. prune:amount=0.5:epochs=15,quantize,accelerate",
    )
    s.add_argument("--out", default=".", help="folder for the JSON and the weights")
    s.add_argument("--quick", action="store_true", help="short training and measuring (tests, tox)")
    v = sub.add_parser("verify", help="re-measure a submission and accept or refuse it")
    v.add_argument("file")
    v.add_argument("--latency-tolerance", type=float, default=DEFAULT_LATENCY_TOLERANCE)
    b = sub.add_parser("leaderboard", help="verify and rank every submission in a folder")
    b.add_argument("folder")
    b.add_argument("--out", default=None, help="where to write the tables (default: the folder)")
    b.add_argument("--latency-tolerance", type=float, default=DEFAULT_LATENCY_TOLERANCE)
    return p


def main(argv: Sequence[str] | None = None, pin: bool = False) -> int:
    """Run one command; returns the exit code. ``pin``: restart with BLAS at ``--threads``
    threads first (what ``python -m tinytorch.capstone`` does)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if pin:
        pin_threads(args.threads, ["-m", "tinytorch.capstone", *argv])
    try:
        if args.command == "submit":
            s = submit(
                args.event,
                args.division,
                args.model,
                parse_techniques(args.techniques),
                args.out,
                quick=args.quick,
            )
            opt = s.document["metrics"]["optimized"]
            score = s.document["score"]
            print(f"wrote {s.path}")
            print(f"  {score['ranks_by']}: {score['value']:.6g} ({score['better']} is better)")
            base = s.document["metrics"]["baseline"]
            for metric in METRICS[args.model].values():
                n = metric.name
                print(f"  {n}: baseline {base[n]:.6g}, optimized {opt[n]:.6g} {metric.unit}")
            for where, why in s.problems:
                print(f"  BREAKS {where}: {why}")
            return 1 if s.problems else 0
        if args.command == "verify":
            report = verify(args.file, args.latency_tolerance)
            print(report)
            return 0 if report.accepted else 1
        board = leaderboard(args.folder, args.out, args.latency_tolerance)
        print(board.markdown.read_text(encoding="utf-8"))
        print(f"wrote {board.markdown} and {board.html}")
        return 0
    except (SubmissionError, TechniqueError, SpecError, FileNotFoundError, NotADirectoryError,
            ValueError) as err:  # fmt: skip
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(pin=True))
