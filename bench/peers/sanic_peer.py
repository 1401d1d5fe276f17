"""sanic-routing (the router of sanic): ``router.get(path, method)`` through ``resolve``. Exact
``/p`` is the route ``/p``; PathPrefix ``/p`` is ``/p`` plus ``/p/<rest:path>``; a rule's method
is the route's method (a rule without one takes every method the workload sends). Routes are
added in Gateway API precedence. A miss raises NotFound (or NoMethod). No hostnames, headers,
query matches or regular-expression paths across segments."""
from sanic_routing import BaseRouter
from sanic_routing.exceptions import NoMethod, NotFound

from . import Contender, by_precedence, path_templates

NAME = "sanic-routing"
WHAT = "sanic-routing (sanic's router; source compiled at finalize)"
CAN = {"Exact", "PathPrefix", "method"}
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class _Router(BaseRouter):
    def get(self, path, method, extra=None):
        return self.resolve(path=path, method=method, extra=extra)


class Sanic(Contender):
    def __init__(self, wl):
        self.router = r = _Router()
        taken = set()

        def add(path, e):
            methods = [m for m in ((e.method,) if e.method else METHODS) if (path, m) not in taken]
            if methods:
                taken.update((path, m) for m in methods)
                r.add(path, lambda rid=e.rid: rid, methods=methods, name=f"r{len(taken)}")

        for e in by_precedence(wl):
            for template in path_templates(e, "<rest:path>"):
                add(template, e)
        r.finalize()

    def _one(self, path, method):
        try:
            return self.router.get(path, method)
        except (NotFound, NoMethod):
            return None

    def batch(self, requests):
        get = self.router.get
        requests = [(r.path, r.method) for r in requests]
        misses = (NotFound, NoMethod)

        def run():
            for path, method in requests:
                try:
                    get(path, method)
                except misses:
                    pass
        return run

    def answers(self, requests):
        out = []
        for r in requests:
            m = self._one(r.path, r.method)
            out.append(m[1]() if m else None)
        return out


def build(wl):
    return Sanic(wl)
