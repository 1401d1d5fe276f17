"""Contenders of the peer benchmarks: the same routing work done by the routers a Python user
would otherwise pick, each given the workload's route set in its own terms, through its public
API. One module per contender; each has

- ``NAME``, ``WHAT`` (one line for the report) and ``CAN``: the workload features it can express
  (see ``peers.workloads.Workload.features``), and optionally ``COULD``: features the library
  has but this adapter does not wire up (no workload needs them without a feature it lacks),
  and optionally ``MAX_ENTRIES`` with ``TOO_BIG`` (why: a build that takes minutes past it);
- ``build(wl)``: a ``Contender`` for that workload.

A contender that cannot express a feature the workload uses is skipped for that workload, with
the reason given by ``cannot(name, wl)`` (the report lists every skipped cell).
"""
from __future__ import annotations

import importlib

# name -> module (in bench/peers/); routecore first: the others are compared with it
MODULES = {
    "routecore": "routecore_native",
    "routecore-pure": "routecore_pure",
    "naive": "naive",
    "http-router": "http_router_peer",
    "routrie": "routrie_peer",
    "werkzeug": "werkzeug_peer",
    "starlette": "starlette_peer",
    "falcon": "falcon_peer",
    "sanic-routing": "sanic_peer",
}
CONTENDERS = tuple(MODULES)

FEATURE_WORDS = {
    "Exact": "Exact paths",
    "PathPrefix": "PathPrefix (segment prefixes)",
    "RegularExpression": "regular-expression paths",
    "hostnames": "hostnames",
    "wildcard-hostnames": "wildcard hostnames",
    "headers": "header matches",
    "query": "query-parameter matches",
    "method": "method matches",
}


def module(name: str):
    return importlib.import_module(f"{__name__}.{MODULES[name]}")


def cannot(name: str, wl) -> str | None:
    """Why contender ``name`` cannot take workload ``wl``, or None."""
    mod = module(name)
    limit = getattr(mod, "MAX_ENTRIES", None)
    if limit is not None and len(wl.entries) > limit:
        return f"building {len(wl.entries):,} entries takes too long ({mod.TOO_BIG})"
    missing = wl.features - set(mod.CAN)
    if not missing:
        return None
    hard = sorted(missing - set(getattr(mod, "COULD", ())))
    soft = sorted(missing & set(getattr(mod, "COULD", ())))
    words = lambda fs: ", ".join(FEATURE_WORDS.get(f, f) for f in fs)  # noqa: E731
    if hard:
        return "cannot express " + words(hard)
    return "adapter does not implement " + words(soft)


class Contender:
    """A built router: ``batch(requests)`` gives the zero-argument function that is timed (one
    plain loop routing every request once), ``answers(requests)`` the rule each request goes
    to, as ``(namespace/route, rule index)`` or None."""

    def batch(self, requests):  # pragma: no cover - interface
        raise NotImplementedError

    def answers(self, requests):  # pragma: no cover - interface
        raise NotImplementedError


def by_precedence(wl):
    """The workload's entries sorted by Gateway API precedence (no hostnames involved)."""
    from .workloads import precedence_key
    return sorted(wl.entries, key=precedence_key)


def path_templates(e, rest):
    """The templates a path-template router takes for an Exact or PathPrefix entry: the exact
    path, or the prefix without its trailing "/" and the paths under it (``rest``: the
    router's catch-all segment syntax)."""
    if e.path_type == "Exact":
        return (e.path,)
    p = e.path.rstrip("/")
    return (p or "/", f"{p}/{rest}")


def path_loop(find, requests):
    """The timed loop of a router that takes the path alone: ``find(path)`` per request."""
    paths = [r.path for r in requests]

    def run():
        for path in paths:
            find(path)
    return run
