"""routecore.load: read a configuration source and turn it into a validated Config.

Invariants: the returned Config holds only valid, defaulted models; with strict=True any problem
raises one ConfigError listing every problem found (nothing is half-loaded); every issue of an
object read from text or a file carries its file, line and column (``locate_issues``).
"""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterable, List

import attrs

from .._errors import ConfigError, ConfigIssue
from .models import Config
from .parse import parse
from .sources import Origin, RawObject, read_source

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
    pause). When the last one ends, the collector is enabled again and what the build made is
    settled (``_settle``). Nothing else changes: the objects built are the same.
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
            settled = True
            if resume:
                _gc_resume = False
                settled = _settle()
                gc.enable()  # (after settling: see _settle)
        if resume and not settled:
            gc.collect(1)


def _settle() -> bool:
    """Put the objects a build made (and every other young object) in the oldest generation,
    while the collector is still paused; False where only a collection can do it.

    They are long-lived, so a collection of the young generations would walk them all (one visit
    per object: about 7 % of a load) only to find them alive and move them there. ``gc.freeze()``
    then ``gc.unfreeze()`` moves them there without visiting one (two list splices); the young
    counter starts again from zero, as after a collection. A cycle of garbage among them waits for
    the next full collection instead. This happens before the collector resumes: the young
    counter has counted every allocation of the build, so with the collector running, the first
    allocation (another thread's, a profiler's) would start that very collection. Where the
    program keeps objects frozen itself (``gc.freeze()``, e.g. before forking workers),
    unfreezing would release those too: there the young generations are collected as before
    (``gc.collect(1)``, by the caller once the collector runs again, outside the lock: finalizers
    may start builds).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
        return True
    return False


def locate_issues(issues: Iterable[ConfigIssue]) -> List[ConfigIssue]:
    """``issues`` with the file, line and column of their field path, where the object they name
    came from text (its origin, which ``parse`` passes on, is then a ``_source.Origin``); the
    origin becomes its plain label again."""
    out = []
    for issue in issues:
        origin = issue.origin
        if isinstance(origin, Origin):
            file, line, column = origin.locate(issue.path)
            issue = attrs.evolve(issue, origin=str(origin) or None, file=file, line=line,
                                 column=column)
        out.append(issue)
    return out


def parse_located(raws: List[RawObject], strict: bool = True) -> Config:
    """``parse(raws)``, its issues located (in the ConfigError, or in ``Config.issues``)."""
    try:
        config = parse(raws, strict=strict)
    except ConfigError as exc:
        raise ConfigError(locate_issues(exc.errors)) from None
    if config.issues:
        config = attrs.evolve(config, issues=tuple(locate_issues(config.issues)))
    return config


def load(source, *, strict: bool = True) -> Config:
    """Load Kubernetes objects from a path, YAML/JSON text, a dict or an iterable of dicts.

    A str is a path when it is one line that names an existing file or folder or ends in .yaml,
    .yml or .json, otherwise YAML/JSON text; pass a ``pathlib.Path`` to mean a path for sure."""
    with bulk_build():
        return parse_located(read_source(source), strict=strict)
