"""falcon's ``CompiledRouter`` (the router of falcon apps, compiled to Python source at the first
lookup): ``router.find(path)``. Exact ``/p`` is the template ``/p``; PathPrefix ``/p`` is ``/p``
plus ``/p/{rest:path}`` (the path converter takes the rest, slashes included). Templates are
added in Gateway API precedence. Paths only: falcon picks the responder by method after the
router, and has no hostnames, headers, query matches or regular-expression templates."""
from falcon.routing import CompiledRouter

from . import Contender, by_precedence, path_loop, path_templates

NAME = "falcon"
WHAT = "falcon `CompiledRouter` (templates compiled to Python source)"
CAN = {"Exact", "PathPrefix"}
# the compiled source grows faster than linearly: here 1.5 s at 1,024 rules, 22 s at 4,096
MAX_ENTRIES = 4096
TOO_BIG = "CompiledRouter's compile time: 22 s at 4,096 rules on the bench machine, minutes beyond"


class _Resource:
    """A resource that stands for one rule (falcon wants a responder on it)."""

    def __init__(self, rid):
        self.rid = rid

    def on_get(self, req, resp):  # pragma: no cover - never called: only the router runs
        pass


class Falcon(Contender):
    def __init__(self, wl):
        self.router = r = CompiledRouter()
        seen = set()

        def add(template, e):
            if template not in seen:
                seen.add(template)
                r.add_route(template, _Resource(e.rid))

        for e in by_precedence(wl):
            for template in path_templates(e, "{rest:path}"):
                add(template, e)
        r.find("/")  # compile now, not in the first timed round

    def batch(self, requests):
        return path_loop(self.router.find, requests)

    def answers(self, requests):
        out = []
        for r in requests:
            m = self.router.find(r.path)
            out.append(m[0].rid if m else None)
        return out


def build(wl):
    return Falcon(wl)
