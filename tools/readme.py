"""``sync``: the README's tracks table, written from the module graph; ``check`` holds it there.

Which modules a track holds is written once, in ``[[tool.tinytorch.module]] tracks`` of the root
``pyproject.toml``. The README shows it between two markers, as a table that ``python -m tools
sync`` writes: the modules of each track by number (those without a package yet named), and the
milestones whose pins fall within it (the ones its tox env runs). ``python -m tools check`` fails
while the table differs from what ``sync`` would write.
"""

from __future__ import annotations

from pathlib import Path

from tools.graph import Graph, ToolError
from tools.workspace import milestones, module_packages, track_milestones

README = "README.md"
BEGIN = "<!-- tracks: written by `python -m tools sync` from the module graph; edit the graph -->"
END = "<!-- end of tracks -->"


def numbers(values: list[int]) -> str:
    """Module numbers as ranges.

    >>> numbers([1, 2, 3, 9, 14, 15])
    '01-03, 09, 14-15'
    """
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{r[0]:02d}" + (f"-{r[-1]:02d}" if len(r) > 1 else "") for r in runs)


def tracks_table(root: Path, graph: Graph) -> str:
    """The README's tracks table for the workspace at ``root``, markers included."""
    present = module_packages(root, graph)
    every = milestones(root)
    rows = [BEGIN, "| track | modules | milestones |", "|---|---|---|"]
    for track in graph.tracks:
        members = [graph.modules[m] for m in graph.track(track)]
        shown = numbers([m.number for m in members])
        if len(members) == len(graph.modules):
            shown = f"all {len(members)} ({shown})"
        missing = [m.number for m in members if m.name not in present]
        if missing:
            shown += f"; {numbers(missing)} not built yet"
        chosen = track_milestones(root, graph, track)
        listed = "all" if chosen == every else ", ".join(f"`{m.name}`" for m in chosen)
        rows.append(f"| {track} | {shown} | {listed or 'none'} |")
    return "\n".join([*rows, END])


def _split(root: Path) -> tuple[str, str, str]:
    """The README's text before the table, the table (markers included), and after it."""
    path = root / README
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ToolError(f"{path}: cannot read it: {e.strerror}") from e
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ToolError(
            f"{path}: no tracks table: put the lines {BEGIN!r} and {END!r} where it goes, then "
            "run `python -m tools sync`"
        )
    return text[:start], text[start : end + len(END)], text[end + len(END) :]


def stale_tracks_table(root: Path, graph: Graph) -> str | None:
    """What is wrong with the README's tracks table, or None when ``sync`` would not change it."""
    if _split(root)[1] != tracks_table(root, graph):
        return "the tracks table is not what the module graph says: run `python -m tools sync`"
    return None


def sync(root: Path) -> int:
    """``python -m tools sync``: rewrite the README's tracks table from the graph."""
    before, table, after = _split(root)
    new = tracks_table(root, Graph.load(root))
    if new == table:
        print(f"{README}: the tracks table is up to date")
        return 0
    (root / README).write_text(before + new + after, encoding="utf-8")
    print(f"{README}: rewrote the tracks table from the module graph")
    return 0
