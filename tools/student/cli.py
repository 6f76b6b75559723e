"""The ``student`` command's arguments and dispatch (registered by ``tools/__main__.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.graph import Graph, ToolError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``student`` and its sub-commands to the tools' command parser."""
    p = sub.add_parser(
        "student", help="student mode: start a module as an exercise, grade it, see progress"
    )
    commands = p.add_subparsers(dest="student_command", required=True, metavar="STEP")

    s = commands.add_parser("start", help="write modules, every solution stubbed, into DIR")
    s.add_argument("names", nargs="*", metavar="MODULE", help="module names, e.g. tensor")
    s.add_argument("--track", help="every module of this track that has a package")
    s.add_argument("--dir", type=Path, required=True, help="the student's workspace")
    s.add_argument("--force", action="store_true", help="replace modules already started")
    s.add_argument(
        "--venv", action="store_true", help="also make DIR/.venv (numpy, pytest, hypothesis)"
    )

    t = commands.add_parser("test", help="grade one module of DIR with its reference tests")
    t.add_argument("name", metavar="MODULE")
    t.add_argument("--dir", type=Path, required=True)
    t.add_argument("-k", dest="keyword", metavar="EXPR", help="only the tests EXPR selects")
    t.add_argument("--json", type=Path, metavar="FILE", help="write the report to FILE")
    t.add_argument(
        "--own-deps",
        action="store_true",
        help="use your own started modules for its dependencies too (not the reference's)",
    )
    t.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output")

    st = commands.add_parser("status", help="every module's last grade; milestones in reach")
    st.add_argument("--dir", type=Path, required=True)

    m = commands.add_parser("milestone", help="run a milestone on your own modules")
    m.add_argument("name", metavar="NAME")
    m.add_argument("--dir", type=Path, required=True)
    m.add_argument("--quick", action="store_true", help="pass --quick when the milestone has it")


def run(root: Path, args: argparse.Namespace) -> int:
    """Run the ``student`` sub-command in ``args``; a refusal prints its message, exit 2."""
    import sys

    workspace: Path = args.dir.expanduser().resolve()
    try:
        if args.student_command == "start":
            from tools.student.workspace import make_venv, start
            from tools.workspace import track_modules

            names = list(args.names)
            if args.track:
                names += track_modules(root, Graph.load(root), args.track)
            if not names:
                if not args.venv:
                    raise ToolError("name the modules to start (or --track NAME)")
                make_venv(workspace)
                return 0
            return start(root, names, workspace, force=args.force, venv=args.venv)
        if args.student_command == "test":
            from tools.student.grade import grade

            return grade(
                root,
                args.name,
                workspace,
                keyword=args.keyword,
                json_out=args.json.resolve() if args.json else None,
                own_deps=args.own_deps,
                show_output=args.verbose,
            )
        from tools.student import progress

        if args.student_command == "status":
            return progress.status(root, workspace)
        return progress.milestone(root, args.name, workspace, quick=args.quick)
    except ToolError as e:  # StudentError and RegionError among them: refusals, exit 2
        print(f"error: {e}", file=sys.stderr)
        return 2
