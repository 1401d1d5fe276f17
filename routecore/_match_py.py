"""The pure-Python twin: the spec read literally, used without the extension and as the oracle.

Invariants: for every TableSpec and request, ``Table.route`` returns a Decision equal (by
``Decision.to_dict``) to the native twin's; error texts are the same. Readability wins over
speed here: every entry of the chosen listener is considered, and the best by the spec's
precedence is kept.
"""
from __future__ import annotations

import operator
from typing import Optional

from . import _adapters, _explain, _explain_stream, _outcome, _stream_py
from ._decision import CHOICE_FIELDS
from ._compile.table import TableSpec, view_repr
from ._paths import host_key
from ._predicates import choose_listener, entry_matches, host_rank
from ._request import query_map, request_parts, text as _text

_MASK = (1 << 64) - 1


def splitmix64(state: int):
    """One step of SplitMix64: (new state, 64-bit output). The native twin implements the same."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return state, z ^ (z >> 31)


class Decision:
    """Where one request goes. Frozen; built by a rule table, never by users."""

    __slots__ = ("changes", "request_path", "_query", "_host", "_scheme")

    def __init__(self, choice, path, query, host, scheme):
        object.__setattr__(self, "changes", choice)  # the rule's changes (routecore._decision)
        object.__setattr__(self, "request_path", path)
        object.__setattr__(self, "_query", query)
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_scheme", scheme)

    def __setattr__(self, name, value):
        raise AttributeError(f"Decision is frozen: cannot set {name!r}")

    __delattr__ = __setattr__

    @property
    def location(self):
        return _outcome.location(self.changes, self.request_path, self._query, self._host,
                                 self._scheme)

    @property
    def upstream_path(self):
        return _outcome.upstream_path(self.changes, self.request_path, self._query)

    @property
    def upstream_host(self):
        return _outcome.upstream_host(self.changes, self._host)

    def apply_request_headers(self, headers):
        return _outcome.apply_headers(self.changes.request_headers, headers)

    def apply_response_headers(self, headers):
        return _outcome.apply_headers(self.changes.response_headers, headers)

    def to_dict(self):
        return _outcome.decision_dict(self)

    def __eq__(self, other):
        if not hasattr(other, "to_dict") or not hasattr(other, "upstream_path"):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self):
        return _outcome.decision_repr(self)


for _name in CHOICE_FIELDS:  # matched, status, backend, ...: the rule's choice's, unchanged
    setattr(Decision, _name, property(operator.attrgetter("changes." + _name)))
del _name


class Table:
    """The rule table of one view (Gateway port or mesh Service port), pure-Python twin.

    ``pick`` is the weighted pick: given the cumulative weights of an outcome's choices (a
    tuple, ``(1,)`` for a single choice), it returns the index of the choice to take. The
    default draws from the table's SplitMix64 stream seeded by ``spec.seed`` (as the native
    twin does); ``routecore diff`` passes one that enumerates every choice."""

    def __init__(self, spec: TableSpec, pick=None):
        self.spec = spec
        self.pick = self._seeded_pick if pick is None else pick
        self._state = spec.seed & _MASK
        # decisions that carry nothing from the request, built once: id(choice) -> Decision
        self._fixed = {id(c): Decision(c, None, None, None, None)
                       for c in spec.choices + spec.grpc_choices
                       if c is not None and _outcome.is_fixed(c)}

    @classmethod
    def patched(cls, old: "Table", spec: TableSpec, changes) -> Optional["Table"]:
        """The table of ``spec`` made from ``old`` (the native twin's patched_table: the same
        arguments): its prebuilt decisions reused, those of the spec's new choices added. None
        when ``spec`` does not extend ``old``'s choices (then a full build)."""
        n = len(old.spec.choices)
        if len(spec.choices) < n or (n and spec.choices[n - 1] is not old.spec.choices[n - 1]) \
                or old.pick != old._seeded_pick:
            return None
        table = cls.__new__(cls)
        table.spec = spec
        table.pick = table._seeded_pick
        table._state = spec.seed & _MASK
        table._fixed = dict(old._fixed)
        table._fixed.update((id(c), Decision(c, None, None, None, None))
                            for c in spec.choices[n:] + spec.grpc_choices[n:]
                            if c is not None and _outcome.is_fixed(c))
        return table

    def __repr__(self):
        return view_repr(getattr(self, "spec", None), False)

    def route(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        spec = self.spec
        method, path, query, hmap, host, hk = request_parts(spec, method, path, headers, host)
        listener = None if path is None or hk is None else choose_listener(spec, hk)
        if path is None or hk is None:
            outcome = spec.bad_request  # a refused path or an invalid Host
        elif listener is None:
            outcome = spec.no_listener
        elif sni is not None and not spec.mesh and choose_listener(spec, host_key(_text(sni))) is not listener:
            outcome = spec.misdirected  # the TLS connection belongs to another listener
        else:
            best_key, best = None, None
            query_params = query_map(query)
            for group in listener.groups:
                rank = (0, 0) if spec.mesh else host_rank(group.hostname, hk)
                if rank is None:
                    continue
                for e in group.entries:
                    key = (rank, e.sort_key)
                    if (best_key is None or key < best_key) and entry_matches(
                            e, method, path, hmap, query_params):
                        best_key, best = key, e
            outcome = best.outcome if best is not None else listener.no_match
        start, cum = spec.outcomes[outcome]
        i = self.pick(cum)
        if not 0 <= i < len(cum):
            raise ValueError(f"pick returned {i!r}: not the index of one of {len(cum)} choices")
        index = start + i
        choice = spec.choices[index]
        grpc = hmap.get("content-type", "").startswith("application/grpc")
        if _outcome.needs_host(choice) and not host_key(host):  # a redirect to no host
            choice = _outcome.without_host(choice, grpc)
        elif grpc and choice.status in (400, 404, 500):
            choice = spec.grpc_choices[index]
        if choice.cors is not None:
            choice = _outcome.cors_choice(choice, method, headers)
        fixed = self._fixed.get(id(choice))
        if fixed is not None:
            return fixed
        return Decision(choice, path, query, host, scheme)

    def route_tls(self, sni):
        """The decision for a TLS connection to this port with server name ``sni`` (TLS
        listeners: Passthrough or Terminate, ``decision.tls_mode``)."""
        return self._stream_decision(_stream_py.tls_outcome(self.spec, sni))

    def route_stream(self, protocol=None):
        """The decision for a TCP connection or UDP flow to this port (TCP listener first,
        ``protocol`` "TCP"/"UDP" to choose)."""
        return self._stream_decision(_stream_py.stream_outcome(self.spec, protocol))

    def explain_tls(self, sni):
        """Why a TLS connection with this SNI goes where it goes."""
        return _explain_stream.explain_tls(self.spec, self.route_tls, sni)

    def explain_stream(self, protocol=None):
        """Why a TCP connection or UDP flow goes where it goes."""
        return _explain_stream.explain_stream(self.spec, self.route_stream, protocol)

    def _stream_decision(self, outcome):
        start, cum = self.spec.outcomes[outcome]
        i = self.pick(cum)
        if not 0 <= i < len(cum):
            raise ValueError(f"pick returned {i!r}: not the index of one of {len(cum)} choices")
        choice = self.spec.choices[start + i]
        fixed = self._fixed.get(id(choice))
        return fixed if fixed is not None else Decision(choice, None, None, None, None)

    def explain(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        """Why this request goes where it goes: routecore._explain.Explanation."""
        return _explain.explain(self.spec, self.route, method, path, headers, host=host,
                                scheme=scheme, sni=sni)

    def route_many(self, requests):
        """Decide many requests in order: each is (method, target[, headers[, host]])."""
        return _adapters.route_many(self, requests)

    def route_asgi(self, scope):
        return _adapters.route_asgi(self, scope)

    def route_wsgi(self, environ):
        return _adapters.route_wsgi(self, environ)

    def _seeded_pick(self, cum) -> int:
        if len(cum) == 1:
            return 0
        self._state, r = splitmix64(self._state)
        r %= cum[-1]
        i = 0
        while r >= cum[i]:
            i += 1
        return i
