"""routrie (Rust, viz-rs/path-tree): ``router.find(path)``. Exact ``/p`` is the static route
``/p``; PathPrefix ``/p`` is ``/p`` plus the catch-all ``/p/*``. Paths only: no methods,
hostnames, headers, query or regular expressions."""
from routrie import Router

from . import Contender, by_precedence, path_loop, path_templates

NAME = "routrie"
WHAT = "routrie (Rust path tree, viz-rs/path-tree)"
CAN = {"Exact", "PathPrefix"}


class Routrie(Contender):
    def __init__(self, wl):
        table = {}
        for e in by_precedence(wl):
            for template in path_templates(e, "*"):
                table.setdefault(template, e.rid)
        self.router = Router(table)

    def batch(self, requests):
        return path_loop(self.router.find, requests)

    def answers(self, requests):
        out = []
        for r in requests:
            m = self.router.find(r.path)
            out.append(m[0] if m else None)
        return out


def build(wl):
    return Routrie(wl)
