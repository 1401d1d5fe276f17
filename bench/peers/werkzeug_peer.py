"""werkzeug's ``Map`` (``MapAdapter.match(path, method)``, the state-machine matcher): Exact
``/p`` is ``Rule("/p")``; PathPrefix ``/p`` is ``Rule("/p")`` plus ``Rule("/p/<path:rest>")``;
a regex rule ``/r17/<tail>`` is ``Rule("/r17/<rx17:p>")`` with a converter whose regex is the
tail (the literal first segment stays a static part). A miss raises ``NotFound``.
Hostnames could be expressed (``host_matching``), header and query matches cannot."""
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map, Rule

from . import Contender, by_precedence, path_templates

NAME = "werkzeug"
WHAT = "werkzeug `Map` / `MapAdapter.match` (state machine)"
CAN = {"Exact", "PathPrefix", "RegularExpression", "method"}
COULD = {"hostnames", "wildcard-hostnames"}


def _split_regex(path):
    """'/r17/items/[0-9]+' -> ('/r17/', 'items/[0-9]+'): the literal first segment and the
    regex tail (the workload's regexes all have this shape)."""
    head, sep, tail = path[1:].partition("/")
    assert sep and head.isalnum(), path
    return f"/{head}/", tail


class Werkzeug(Contender):
    def __init__(self, wl):
        rules, converters, seen = [], {}, set()

        def add(string, e):
            if string not in seen:
                seen.add(string)
                rules.append(Rule(string, endpoint=e.rid,
                                  methods=[e.method] if e.method else None))

        for i, e in enumerate(by_precedence(wl)):
            if e.path_type != "RegularExpression":
                for template in path_templates(e, "<path:rest>"):
                    add(template, e)
            else:
                head, tail = _split_regex(e.path)
                name = f"rx{i}"
                converters[name] = type(name, (BaseConverter,),
                                        {"regex": tail, "part_isolating": "/" not in tail})
                add(f"{head}<{name}:p>", e)
        self.adapter = Map(rules, converters=converters).bind("bench.example")

    def batch(self, requests):
        match = self.adapter.match
        requests = [(r.path, r.method) for r in requests]

        def run():
            for path, method in requests:
                try:
                    match(path, method)
                except NotFound:
                    pass
        return run

    def answers(self, requests):
        out = []
        for r in requests:
            try:
                out.append(self.adapter.match(r.path, r.method)[0])
            except NotFound:
                out.append(None)
        return out


def build(wl):
    return Werkzeug(wl)
