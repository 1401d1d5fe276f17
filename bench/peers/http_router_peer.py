"""http-router (Cython): ``router.match(path, method)``. Exact paths are its plain (hashed)
routes; a PathPrefix ``/p`` is the plain route ``/p`` plus the pattern route ``^/p/``;
regex rules are pattern routes ``(?:rx)\\Z``. Pattern routes are tried in the order they were
added, so they are added in Gateway API precedence. No hostname wildcards, headers or query.

http-router memoises ``match`` in an LRU cache (1,024 entries): the benchmark clears it before
each round, so a request repeated within the list is a cache hit, as it would be in traffic."""
import re

from http_router import Router

from . import Contender, by_precedence

NAME = "http-router"
WHAT = "http-router (Cython; hashed static paths, regex scan otherwise; LRU-cached)"
CAN = {"Exact", "PathPrefix", "RegularExpression", "method"}
COULD = {"hostnames"}


class HttpRouter(Contender):
    def __init__(self, wl):
        self.router = r = Router()
        seen = set()

        def add(path, e):
            key = path.pattern if isinstance(path, re.Pattern) else path
            if key not in seen:
                seen.add(key)
                r.bind(e.rid, path, methods=e.method)

        for e in by_precedence(wl):
            if e.path_type == "Exact":
                add(e.path, e)
            elif e.path_type == "PathPrefix":
                p = e.path.rstrip("/")
                add(p or "/", e)
                add(re.compile(re.escape(p) + "/"), e)
            else:
                add(re.compile(f"(?:{e.path})\\Z"), e)

    def reset(self):
        Router.match.cache_clear()

    def batch(self, requests):
        match = self.router.match
        requests = [(r.path, r.method) for r in requests]

        def run():
            for path, method in requests:
                match(path, method)
        return run

    def answers(self, requests):
        self.reset()
        out = []
        for r in requests:
            m = self.router.match(r.path, r.method)
            out.append(m.target if m else None)
        return out


def build(wl):
    return HttpRouter(wl)
