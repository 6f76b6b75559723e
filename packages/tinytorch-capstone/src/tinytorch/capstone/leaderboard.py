"""The leaderboard: verify every submission in a folder, rank the accepted ones per event.

:func:`leaderboard` verifies each ``*.json`` of the folder (a file that is not a submission,
or one that is refused, is listed with its reason and not ranked), then ranks the accepted
ones per event, model kind and division by the event's figure (:meth:`Event.ranking`), and
writes ``leaderboard.md`` and ``leaderboard.html`` atomically.
"""

from __future__ import annotations

import functools
import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tinytorch.capstone.events import EVENTS, METRICS
from tinytorch.capstone.submission import SubmissionError
from tinytorch.capstone.verify import DEFAULT_LATENCY_TOLERANCE, VerifyReport, verify
from tinytorch.training.checkpoint import atomic_write

__all__ = ["Board", "leaderboard"]


@dataclass
class Board:
    """The verdicts: ranked rows per (event, kind, division), refused files with reasons, and
    where the tables were written."""

    ranked: dict[tuple[str, str, str], list[VerifyReport]]
    refused: list[tuple[str, str]]
    markdown: Path
    html: Path


def _fmt(name: str, value: float) -> str:
    if name == "p90_latency_s":
        return f"{value * 1e6:.1f} us"
    if name == "accuracy":
        return f"{100 * value:.2f}%"
    if name == "held_bytes":
        return f"{int(value):,}"
    if name == "tokens_per_second":
        return f"{value:,.1f}"
    return f"{value:.4f}"


def _rows(board: Board) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    for (event, kind, division), reports in board.ranked.items():
        metrics = [m.name for m in METRICS[kind].values()]
        header = ["rank", "submission", "techniques", "score", *metrics, "quick"]
        rows = []
        for i, r in enumerate(reports, 1):
            doc = r.document
            opt = doc["metrics"]["optimized"]
            rows.append(
                [
                    str(i),
                    r.path.name,
                    ", ".join(t["name"] for t in doc["techniques"]) or "(baseline)",
                    _fmt(doc["score"]["ranks_by"], doc["score"]["value"]),
                    *(_fmt(m, opt[m]) for m in metrics),
                    "yes" if doc["quick"] else "no",
                ]
            )
        name, better = EVENTS[event].ranking(kind)
        title = f"{EVENTS[event].title}: {kind}, {division} division (by {name}, {better})"
        tables.append((title, header, rows))
    return tables


def _markdown(board: Board) -> str:
    lines = ["# Torch Olympics leaderboard", ""]
    for title, header, rows in _rows(board):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    if board.refused:
        lines += ["## Refused (not ranked)", "", "| file | reason |", "|---|---|"]
        for name, why in board.refused:
            lines.append(f"| {name} | {why.replace('|', '/').replace(chr(10), '; ')} |")
        lines.append("")
    return "\n".join(lines)


def _html(board: Board) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Torch Olympics leaderboard</title></head><body>",
             "<h1>Torch Olympics leaderboard</h1>"]  # fmt: skip
    for title, header, rows in _rows(board):
        parts.append(f"<h2>{e(title)}</h2><table>")
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    if board.refused:
        parts.append("<h2>Refused (not ranked)</h2><table><tr><th>file</th><th>reason</th></tr>")
        parts += [f"<tr><td>{e(n)}</td><td>{e(w)}</td></tr>" for n, w in board.refused]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _write(data: bytes, f: IO[bytes]) -> None:
    f.write(data)


def leaderboard(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    latency_tolerance: float = DEFAULT_LATENCY_TOLERANCE,
) -> Board:
    """Verify every ``*.json`` submission in ``folder`` and write ``leaderboard.md`` and
    ``leaderboard.html`` into ``out`` (default: ``folder``).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = tempfile.mkdtemp()
        >>> _ = (Path(folder) / "junk.json").write_text("[1]")
        >>> board = leaderboard(folder)
        >>> board.refused[0][0], board.ranked
        ('junk.json', {})
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"leaderboard: {str(folder)!r} is not a folder")
    target = Path(out) if out is not None else folder
    ranked: dict[tuple[str, str, str], list[VerifyReport]] = {}
    refused: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            report = verify(path, latency_tolerance)
        except SubmissionError as err:
            refused.append((path.name, str(err).split(": ", 1)[-1]))
            continue
        if not report.accepted:
            reasons = "; ".join(f"{w}: {why}" for w, why in report.refusals)
            refused.append((path.name, reasons))
            continue
        doc = report.document
        key = (doc["event"], doc["model"]["kind"], doc["division"])
        ranked.setdefault(key, []).append(report)
    for reports in ranked.values():
        reverse = reports[0].document["score"]["better"] == "max"
        reports.sort(key=lambda r: r.document["score"]["value"], reverse=reverse)
    order = {name: i for i, name in enumerate(EVENTS)}
    ranked = dict(sorted(ranked.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2])))
    target.mkdir(parents=True, exist_ok=True)
    board = Board(ranked, refused, target / "leaderboard.md", target / "leaderboard.html")
    for path, text in ((board.markdown, _markdown(board)), (board.html, _html(board))):
        atomic_write(path, functools.partial(_write, text.encode("utf-8")))
    return board
