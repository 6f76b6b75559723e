"""Just enough of tox 4's ini format to hold ``tox.ini`` against the module graph.

It reads the env names (``[testenv:NAME]`` sections, generative ``{a,b}`` names expanded), the
settings of each that the check holds to the graph, the ``env_list`` of ``[tox]`` and the
``[tracks]`` table whose lists the track envs install.
"""

from __future__ import annotations

import configparser
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from tools.graph import ToolError

_BRACES = re.compile(r"\{([^{}]*)\}")
_REFERENCE = re.compile(r"\{\[([^\]]+)\]([^{}]+)\}")


def expand(expr: str) -> list[str]:
    """Expand tox's generative names: every combination of the ``{a,b}`` groups.

    >>> expand("{tensor,layers}")
    ['tensor', 'layers']
    >>> expand("py{310,311}-{a,b}")
    ['py310-a', 'py310-b', 'py311-a', 'py311-b']
    """
    pieces: list[list[str]] = []
    position = 0
    for match in _BRACES.finditer(expr):
        pieces.append([expr[position : match.start()]])
        pieces.append([part.strip() for part in match[1].split(",")])
        position = match.end()
    pieces.append([expr[position:]])
    return ["".join(combo).strip() for combo in itertools.product(*pieces)]


@dataclass(frozen=True)
class ToxConfig:
    """A ``tox.ini``'s env names (with their section and unsubstituted settings), env_list, tracks.

    ``settings[env]`` holds what tox uses of ``commands_pre``, ``commands``, ``deps`` and
    ``runner`` for that env: its own value, else the one ``[testenv]`` gives every env.
    """

    path: Path
    envs: dict[str, str]
    env_list: list[str]
    tracks: dict[str, list[str]]
    settings: dict[str, dict[str, str]]

    def substitute_tracks(self, text: str) -> str:
        """``text`` with each ``{[tracks]NAME}`` replaced by that track's list, as tox does.

        >>> tox = ToxConfig(Path("tox.ini"), {}, [], {"vision": ["tensor", "layers"]}, {})
        >>> tox.substitute_tracks("python -m tools install {[tracks]vision}")
        'python -m tools install tensor layers'
        """

        def listing(match: re.Match[str]) -> str:
            if match[1] == "tracks" and match[2] in self.tracks:
                return " ".join(self.tracks[match[2]])
            return match[0]

        return _REFERENCE.sub(listing, text)

    @classmethod
    def read(cls, path: Path) -> ToxConfig:
        """Parse ``path``; ToolError naming it when it is missing or malformed."""
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with path.open(encoding="utf-8") as f:
                parser.read_file(f)
        except OSError as e:
            raise ToolError(f"{path}: cannot read it: {e.strerror}") from e
        except configparser.Error as e:
            raise ToolError(f"{path}: not a valid ini file: {e}") from e

        def value(section: str, key: str) -> str:
            raw = parser.get(section, key, fallback="")
            # tox's {[section]key} references, resolved as tox does (one level deep is all we use).
            return _REFERENCE.sub(lambda m: parser.get(m[1], m[2], fallback=m[0]), raw)

        envs: dict[str, str] = {}
        settings: dict[str, dict[str, str]] = {}
        for section in parser.sections():
            if section.startswith("testenv:"):
                for name in expand(section[len("testenv:") :]):
                    envs[name] = section
                    settings[name] = {
                        k: parser.get(section, k, fallback=parser.get("testenv", k, fallback=""))
                        for k in ("commands_pre", "commands", "deps", "runner")
                    }
        key = "env_list" if parser.has_option("tox", "env_list") else "envlist"
        env_list = [
            name
            for line in value("tox", key).splitlines()
            for expr in _split_outside_braces(line)
            for name in expand(expr)
            if name
        ]
        tracks = {}
        if parser.has_section("tracks"):
            tracks = {k: value("tracks", k).split() for k in parser.options("tracks")}
        return cls(path=path, envs=envs, env_list=env_list, tracks=tracks, settings=settings)


def _split_outside_braces(line: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in line:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]
