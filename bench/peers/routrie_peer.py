"""routrie (Rust, viz-rs/path-tree): ``router.find(path)``. Exact ``/p`` is the static route
``/p``; PathPrefix ``/p`` is ``/p`` plus the catch-all ``/p/*``. Paths only: no methods,
hostnames, headers, query or regular expressions."""
from routrie import Router

from . import Contender, by_precedence

NAME = "routrie"
WHAT = "routrie (Rust path tree, viz-rs/path-tree)"
CAN = {"Exact", "PathPrefix"}


class Routrie(Contender):
    def __init__(self, wl):
        table = {}
        for e in by_precedence(wl):
            if e.path_type == "Exact":
                table.setdefault(e.path, e.rid)
            else:
                p = e.path.rstrip("/")
                table.setdefault(p or "/", e.rid)
                table.setdefault(p + "/*", e.rid)
        self.router = Router(table)

    def batch(self, requests):
        find = self.router.find
        paths = [r.path for r in requests]

        def run():
            for path in paths:
                find(path)
        return run

    def answers(self, requests):
        out = []
        for r in requests:
            m = self.router.find(r.path)
            out.append(m[0] if m else None)
        return out


def build(wl):
    return Routrie(wl)
