"""routecore, the Cython core: ``view.route(method, target, headers, host=...)``."""
import routecore
from routecore import _match

from . import Contender

NAME = "routecore"
WHAT = "routecore's Cython core (`view.route`)"
CAN = {"Exact", "PathPrefix", "RegularExpression", "hostnames", "wildcard-hostnames",
       "headers", "query", "method"}
NATIVE = True


class RoutecoreContender(Contender):
    def __init__(self, wl, native):
        if native:
            assert _match.NativeTable is not None, "the native extension is not built"
        config = routecore.load(wl.objects)
        self.view = wl.bind(routecore.Router(config, seed=1, native=native))

    def batch(self, requests):
        route = self.view.route
        requests = [tuple(r) for r in requests]

        def run():
            for method, target, headers, host in requests:
                route(method, target, headers, host=host)
        return run

    def answers(self, requests):
        out = []
        for r in requests:
            d = self.view.route(r.method, r.target, r.headers, host=r.host)
            out.append((d.route, d.rule) if d.matched else None)
        return out


def build(wl):
    return RoutecoreContender(wl, NATIVE)
