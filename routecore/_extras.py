"""Optional dependencies: the one-line hint naming the extra that brings a missing one.

Invariant: a command or module that needs an optional dependency reports its absence with
``missing(exc, extra)`` (exit status 2 on the command line, ImportError for a module), never a
traceback; a ModuleNotFoundError of routecore's own modules is a bug and is raised as is.
"""
from __future__ import annotations

import sys


def hint(module: str, extra: str, what: str) -> str:
    return f"{what} needs {module}: pip install 'routecore[{extra}]'"


def missing(exc: ModuleNotFoundError, extra: str, what: str) -> int:
    """Print the hint for the missing module of ``exc`` on stderr; the command's exit status (2)."""
    name = exc.name or ""
    if not name or name == "routecore" or name.startswith("routecore."):
        raise exc
    print(f"routecore: {hint(name.partition('.')[0], extra, what)}", file=sys.stderr)
    return 2
