"""routecore.load: read a configuration source and turn it into a validated Config.

Invariant: the returned Config holds only valid, defaulted models; with strict=True any problem
raises one ConfigError listing every problem found (nothing is half-loaded).
"""
from __future__ import annotations

from ._models import Config
from ._parse import parse
from ._source import read_source


def load(source, *, strict: bool = True) -> Config:
    """Load Kubernetes objects from a path, YAML/JSON text, a dict or an iterable of dicts."""
    return parse(read_source(source), strict=strict)
