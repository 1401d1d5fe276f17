"""routecore.load: read a configuration source and turn it into a validated Config.

Invariant: the returned Config holds only valid, defaulted models; with strict=True any problem
raises one ConfigError listing every problem found (nothing is half-loaded).
"""
from __future__ import annotations

import contextlib
import gc
import threading

from ._models import Config
from ._parse import parse
from ._source import read_source

_gc_lock = threading.Lock()
_gc_depth = 0  # bulk builds in progress (any thread)
_gc_resume = False  # whether the outermost one disabled the cycle collector


@contextlib.contextmanager
def bulk_build():
    """Pause CPython's cycle collector while a configuration or a table is built.

    Loading and compiling create hundreds of thousands of long-lived objects (and no garbage
    cycles to speak of); every so often the allocations trigger a full collection, which walks
    the whole heap (the caller's objects too). At 10,000 routes those full collections were most
    of the time spent, and their cost grows with the heap: the one super-linear part of a build.

    The collector is disabled only if it was enabled, and only by the outermost build in progress
    in the process (builds nest: reload loads, then compiles; builds in several threads share the
    pause). When the last one ends, the collector is enabled again and collects the young
    generations once (``gc.collect(1)``), so that the work the paused collector deferred is done
    here, inside the build, rather than by whatever allocates next. Nothing else changes: the
    objects built are the same.
    """
    global _gc_depth, _gc_resume
    with _gc_lock:
        if _gc_depth == 0:
            _gc_resume = gc.isenabled()
            if _gc_resume:
                gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            resume = _gc_depth == 0 and _gc_resume
            if resume:
                _gc_resume = False
                gc.enable()
        if resume:
            gc.collect(1)


def load(source, *, strict: bool = True) -> Config:
    """Load Kubernetes objects from a path, YAML/JSON text, a dict or an iterable of dicts."""
    with bulk_build():
        return parse(read_source(source), strict=strict)
