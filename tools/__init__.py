"""The workspace's own commands, run from the repository root as ``python -m tools <command>``.

Standard library only (plus ``tomli`` on Python 3.10), so that every tox env and a bare Python can
run them. ``python -m tools --help`` lists the commands.
"""
