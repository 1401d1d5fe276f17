"""starlette's ``Router``, called as the ASGI application it is (``await router(scope, receive,
send)``, driven without an event loop since nothing in it suspends). Every route's endpoint is a
tiny ASGI app that records which rule it stands for; ``default=`` records a miss. Exact ``/p``
is ``Route("/p")``; PathPrefix ``/p`` is ``Route("/p")`` plus ``Route("/p/{rest:path}")``; a
regex rule ``/r17/<tail>`` is ``Route("/r17/{p:rx17}")`` with a registered convertor whose
regex is the tail. Routes are tried in order, so they are added in Gateway API precedence.
``redirect_slashes=False`` (the default would scan every route a second time on each miss).
Hostnames could be expressed (``Host``), header and query matches cannot."""
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route, Router

from . import Contender, by_precedence, path_templates
from .werkzeug_peer import _split_regex

NAME = "starlette"
WHAT = "starlette `Router` (ASGI call; ordered regex scan)"
CAN = {"Exact", "PathPrefix", "RegularExpression", "method"}
COULD = {"hostnames", "wildcard-hostnames"}


class _Hit:
    """An ASGI endpoint that records its rule."""

    def __init__(self, rid, box):
        self.rid, self.box = rid, box

    async def __call__(self, scope, receive, send):
        self.box[0] = self.rid


class _Convertor(Convertor):
    def __init__(self, regex):
        self.regex = regex

    def convert(self, value):
        return value

    def to_string(self, value):
        return value


async def _receive():  # never called: no endpoint reads the body
    return {"type": "http.request", "body": b""}


async def _send(message):  # never called: no endpoint answers
    pass


class Starlette(Contender):
    def __init__(self, wl):
        self.box = [None]
        routes, seen = [], set()

        def add(path, e):
            if path not in seen:
                seen.add(path)
                routes.append(Route(path, _Hit(e.rid, self.box),
                                    methods=[e.method] if e.method else None))

        for i, e in enumerate(by_precedence(wl)):
            if e.path_type != "RegularExpression":
                for template in path_templates(e, "{rest:path}"):
                    add(template, e)
            else:
                head, tail = _split_regex(e.path)
                name = f"bench_rx_{wl.n}_{i}"
                register_url_convertor(name, _Convertor(tail))
                add(f"{head}{{p:{name}}}", e)
        self.router = Router(routes, redirect_slashes=False, default=_Hit(None, self.box))

    @staticmethod
    def _scope(r):
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": r.method, "scheme": "http", "path": r.path,
                "raw_path": r.path.encode(), "root_path": "", "query_string": b"",
                "headers": [(k.lower().encode(), v.encode()) for k, v in r.headers],
                "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000)}

    def batch(self, requests):
        router = self.router
        scopes = [self._scope(r) for r in requests]

        def run():
            for scope in scopes:
                try:
                    router(scope, _receive, _send).send(None)
                except StopIteration:
                    pass
        return run

    def answers(self, requests):
        out = []
        for r in requests:
            self.box[0] = "unset"
            try:
                self.router(self._scope(r), _receive, _send).send(None)
            except StopIteration:
                pass
            out.append(self.box[0])
        return out


def build(wl):
    return Starlette(wl)
