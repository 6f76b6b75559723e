"""The workspace's own commands, run from the repository root as ``python -m tools <command>``.

Standard library only (plus ``tomli`` on Python 3.10, or the copy pip vendors), and ``git`` for
the release record, so that every tox env and a bare Python can run them. ``python -m tools
--help`` lists the commands; RELEASING.md explains versions, releases and track installs.
"""
