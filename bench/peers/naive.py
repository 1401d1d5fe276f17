"""A hand-written matcher: every (hostname, match) pair sorted once by Gateway API precedence,
each request scanned against the list until the first match. What a user writes when no
library does Gateway API semantics: correct, simple, linear in the number of rules."""
import re
from urllib.parse import parse_qsl

from . import Contender
from .workloads import precedence_key

NAME = "naive"
WHAT = "hand-written scan of precedence-sorted rules (pure Python, `re` for regexes)"
CAN = {"Exact", "PathPrefix", "RegularExpression", "hostnames", "wildcard-hostnames",
       "headers", "query", "method"}


def _value_check(kind, value):
    if kind == "Exact":
        return lambda v: v == value
    rx = re.compile(value)
    return lambda v: v is not None and rx.fullmatch(v) is not None


class Naive(Contender):
    def __init__(self, wl):
        pairs = [(precedence_key(e, h), h, e) for e in wl.entries for h in (e.hostnames or (None,))]
        pairs.sort(key=lambda p: p[0])
        self.rules = []
        for _, host, e in pairs:
            if e.path_type == "RegularExpression":
                rx = re.compile(e.path)
                path_ok = lambda p, rx=rx: rx.fullmatch(p) is not None  # noqa: E731
            elif e.path_type == "Exact":
                path_ok = e.path.__eq__
            else:
                prefix = e.path.rstrip("/")
                if not prefix:
                    path_ok = None  # "/" matches every path
                else:
                    slash = prefix + "/"
                    path_ok = lambda p, a=prefix, b=slash: p == a or p.startswith(b)  # noqa: E731
            headers = [(n, _value_check(k, v)) for n, k, v in e.headers]
            query = [(n, _value_check(k, v)) for n, k, v in e.query]
            self.rules.append((host, path_ok, e.method, headers, query, e.rid))

    def route(self, method, target, headers, host=None):
        path, _, qs = target.partition("?")
        h = None
        if host:
            h = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            h = h.lower().rstrip(".")
        hdrs = None
        query = None
        for rhost, path_ok, rmethod, rheaders, rquery, rid in self.rules:
            if rhost is not None and h != rhost:
                if not (rhost[0] == "*" and h is not None and h.endswith(rhost[1:])):
                    continue
            if path_ok is not None and not path_ok(path):
                continue
            if rmethod is not None and rmethod != method:
                continue
            if rheaders:
                if hdrs is None:
                    hdrs = {}
                    for name, value in headers:
                        name = name.lower()
                        hdrs[name] = hdrs[name] + "," + value if name in hdrs else value
                if not all(ok(hdrs.get(name)) for name, ok in rheaders):
                    continue
            if rquery:
                if query is None:
                    query = {}
                    for name, value in parse_qsl(qs, keep_blank_values=True):
                        query.setdefault(name, value)
                if not all(ok(query.get(name)) for name, ok in rquery):
                    continue
            return rid
        return None

    def batch(self, requests):
        route = self.route
        requests = [tuple(r) for r in requests]

        def run():
            for method, target, headers, host in requests:
                route(method, target, headers, host=host)
        return run

    def answers(self, requests):
        return [self.route(r.method, r.target, r.headers, host=r.host) for r in requests]


def build(wl):
    return Naive(wl)
