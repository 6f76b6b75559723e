"""The workspace's own commands, run from the repository root as ``python -m tools <command>``.

The standard library plus ``packaging`` (and ``tomli`` on Python 3.10), or the copies pip
vendors of both, and ``git`` for the release record, so that every tox env and a bare Python with
pip can run them. ``python -m tools --help`` lists the commands; RELEASING.md explains versions,
releases and track installs.

Which modules each track holds is written once, in the module graph of ``pyproject.toml``; the
track envs of ``tox.toml`` install ``--track NAME`` from it, ``check`` holds the meta packages to
it, and the README's tracks table is generated from it: after changing the graph, a track's
milestones or the packages present, ``python -m tools sync`` rewrites that table (``check``
fails while it is stale).
"""
