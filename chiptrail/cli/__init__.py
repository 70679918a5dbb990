"""The ``chiptrail`` command line (Typer + rich): parse options, call one service function, render.

Data goes to stdout; logs, progress and errors to stderr.
"""
