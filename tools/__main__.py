"""``python -m tools <command>``: the workspace's commands (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.graph import ToolError

ROOT = Path(__file__).resolve().parent.parent


def _names_or_track(p: argparse.ArgumentParser, names_help: str) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--track",
        help="the modules of this track that have a package (the module graph's list)",
    )
    group.add_argument("names", nargs="*", default=[], metavar="NAME", help=names_help)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools", description="The TinyTorch workspace's own commands."
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="workspace root (default: this checkout)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "check", help="hold packages, imports, tox.toml, README and milestones to the graph"
    )
    sub.add_parser("sync", help="rewrite the README's generated tables from the module graph")

    p = sub.add_parser(
        "install",
        help="install module packages from packages/ (--no-deps) into this interpreter, exactly",
    )
    p.add_argument("--with-deps", action="store_true", help="add their declared siblings")
    _names_or_track(p, "module names, e.g. tensor")

    p = sub.add_parser(
        "test", help="pytest over packages' tests/ and their doctests; pytest args after --"
    )
    p.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="MODULE",
        help="fail if MODULE cannot be imported, if a test skips naming it, or if none imports it",
    )
    _names_or_track(p, "module names, e.g. tensor")

    p = sub.add_parser(
        "milestones",
        help="run milestones in this environment; one whose pins it does not hold runs at its "
        "pins, as run-milestone does",
    )
    p.add_argument("--quick", action="store_true", help="pass --quick to each milestone")
    p.add_argument("--index-url", help="for those run at their pins: the index numpy comes from")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--track", help="every milestone whose pins fall within this track")
    group.add_argument("names", nargs="*", default=[], metavar="NAME")

    p = sub.add_parser(
        "run-milestone",
        help="run milestones (every one when none is named), each in .milestone-envs/<name>/ "
        "holding exactly its pinned versions",
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--index-url", help="the index numpy comes from (default: pip's or uv's)")

    p = sub.add_parser(
        "bump", help="a new version of one package: pyproject, CHANGELOG, dependants' ranges"
    )
    p.add_argument("name", metavar="NAME", help="a module (tensor) or a track (vision)")
    p.add_argument("kind", choices=["major", "minor", "patch"])
    p.add_argument("-m", "--message", required=True, help="the CHANGELOG entry")

    p = sub.add_parser(
        "release", help="record packages' current versions at a commit in releases.toml"
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="every package (modules and tracks)")
    p.add_argument(
        "--commit", default="HEAD", help="the commit holding their source (default: HEAD)"
    )

    p = sub.add_parser("wheelhouse", help="build a wheel of every package into DIR")
    p.add_argument("dir", type=Path, metavar="DIR")

    p = sub.add_parser(
        "install-track",
        help="install a track (its meta package and modules) from the wheelhouse, numpy from "
        "the index, into an environment",
    )
    p.add_argument("track", metavar="TRACK")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--python", help="the interpreter of the environment to install into")
    where.add_argument("--venv", type=Path, help="a virtual environment (created if missing)")
    p.add_argument(
        "--wheelhouse", type=Path, help="where to build the wheels (default: dist/wheelhouse)"
    )
    p.add_argument("--index-url", help="the index numpy comes from (default: pip's or uv's)")

    sub.add_parser("typecheck", help="mypy strict over packages/*/src, tools/ and milestones/")
    p = sub.add_parser("bench", help="run packages/tinytorch-NAME/benchmarks/bench_*.py")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--quick", action="store_true", help="pass --quick to each script")
    p.add_argument("--threads", type=int, metavar="N", help="pass --threads N to each script")
    sub.add_parser("dev-install", help="every package editable (--no-deps) plus numpy")
    from tools.student.cli import add_parser as add_student

    add_student(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, and return its exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in args_in:
        cut = args_in.index("--")
        args_in, passthrough = args_in[:cut], args_in[cut + 1 :]
    args = _parser().parse_args(args_in)
    root: Path = args.root.resolve()
    if passthrough and args.command != "test":
        print(f"error: only `test` takes arguments after --, not {args.command!r}", file=sys.stderr)
        return 2
    try:
        if args.command == "student":
            from tools.student.cli import run as run_student

            return run_student(root, args)
        if args.command in ("check", "sync"):
            from tools import check, readme

            return check.run(root) if args.command == "check" else readme.sync(root)
        if args.command in ("install", "test") and args.track is not None:
            from tools.graph import Graph
            from tools.workspace import track_modules

            args.names = track_modules(root, Graph.load(root), args.track)
            if not args.names:
                raise ToolError(f"track {args.track!r} has no module package in packages/")
        if args.command in ("install", "dev-install"):
            from tools import install

            if args.command == "dev-install":
                return install.dev_install(root)
            return install.install(root, args.names, with_deps=args.with_deps)
        if args.command in ("test", "typecheck", "bench"):
            from tools import runners

            if args.command == "test":
                return runners.test(root, args.names, passthrough, args.require)
            if args.command == "typecheck":
                return runners.typecheck(root)
            return runners.bench(root, args.names, quick=args.quick, threads=args.threads)
        if args.command in ("bump", "release"):
            from tools import releases

            if args.command == "bump":
                return releases.bump(root, args.name, args.kind, args.message)
            return releases.release(root, args.names, every=args.all, rev=args.commit)
        if args.command in ("wheelhouse", "install-track"):
            from tools import tracks

            if args.command == "wheelhouse":
                return tracks.wheelhouse(root, args.dir.resolve())
            return tracks.install_track(
                root,
                args.track,
                python=args.python,
                venv=args.venv.resolve() if args.venv else None,
                wheelhouse_dir=args.wheelhouse.resolve() if args.wheelhouse else None,
                index_url=args.index_url,
            )
        from tools import milestones

        if args.command == "milestones":
            return milestones.run_installed(
                root, args.names, args.track, quick=args.quick, index_url=args.index_url
            )
        return milestones.run_milestones(
            root, args.names, quick=args.quick, index_url=args.index_url
        )
    except ToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
