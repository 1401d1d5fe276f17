"""Why a TLS connection (by SNI) or a TCP/UDP connection went where it went:
``view.explain_tls(sni)`` and ``view.explain_stream(protocol=None)`` (both twins).

Invariants: the decision shown is the one the view's own ``route_tls`` / ``route_stream``
returns (the twin's real code runs); listeners and groups are ranked by the pure reading
(routecore._stream_py), the same helpers the pure twin decides with; the winner row is the first
group that fits, every later one is "not reached".
"""
from __future__ import annotations

from typing import Optional, Tuple

from attrs import asdict, field, frozen

from . import _stream_py
from ._explain import ListenerNote, listener_reason
from ._predicates import host_rank, listener_rank


@frozen
class GroupRow:
    position: int
    hostname: Optional[str]  # the effective route hostname (None: any SNI)
    route: str
    state: str  # "won", "no match", "not reached"


@frozen
class StreamExplanation:
    protocol: str  # "TLS", "TCP" or "UDP"
    sni: Optional[str]
    host_key: str
    listener: Optional[str]
    listener_reason: str
    listeners: Tuple[ListenerNote, ...]
    rows: Tuple[GroupRow, ...]
    decision: object = field(eq=False)

    @property
    def agrees(self) -> bool:
        won = next((r for r in self.rows if r.state == "won"), None)
        return (won is None) == (not self.decision.matched) and (won is None or won.route == self.decision.route)

    def __str__(self) -> str:
        d = self.decision
        head = f"{self.protocol} connection" + (f" sni {self.host_key or '(none)'}" if self.protocol == "TLS" else "")
        lines = [f"{head} | listener {self.listener or '(none)'}: {self.listener_reason}"]
        for r in self.rows:
            lines.append(f"{r.position}  {r.hostname or '(any)'}  {r.route}  {r.state}")
        if d.status is None:
            text = f"forward to {d.backend}" + (f" ({d.tls_mode})" if d.tls_mode else "")
        else:
            text = str(d.status) + ("" if d.matched else " (no route)" if self.listener else " (no listener)")
        if d.matched:
            text += f"  [route {d.route} rule {d.rule}]"
        lines.append("decision: " + text)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "sni": self.sni, "host_key": self.host_key,
                "listener": self.listener, "listener_reason": self.listener_reason,
                "listeners": [asdict(n) for n in self.listeners], "rows": [asdict(r) for r in self.rows],
                "decision": self.decision.to_dict(), "agrees": self.agrees}


def _rows(groups, hk: Optional[str]) -> Tuple[GroupRow, ...]:
    rows, won = [], False
    for i, g in enumerate(groups):
        fits = hk is None or (host_rank(g.hostname, hk) is not None if hk or g.hostname is None else False)
        state = "not reached" if won else ("won" if fits else "no match")
        won = won or fits
        rows.append(GroupRow(i + 1, g.hostname, g.route, state))
    return tuple(rows)


def explain_tls(spec, route_tls, sni) -> StreamExplanation:
    decision = route_tls(sni)
    lis, hk = _stream_py.tls_listener(spec, sni)
    notes = []
    for other in spec.streams:
        if other.protocol != "TLS":
            continue
        ok = listener_rank(other.hostname, hk) is not None if hk or other.hostname is None else False
        notes.append(ListenerNote(other.name, other.hostname, "chosen" if other is lis else
                                  "matches, less specific" if ok else "hostname does not match"))
    reason = listener_reason(lis.hostname, hk) if lis is not None else "no TLS listener takes this SNI -> 404"
    return StreamExplanation("TLS", None if sni is None else str(sni), hk, None if lis is None else lis.name,
                             reason, tuple(notes), _rows(lis.groups, hk) if lis is not None else (), decision)


def explain_stream(spec, route_stream, protocol=None) -> StreamExplanation:
    decision = route_stream(protocol)
    lis = _stream_py.stream_listener(spec, protocol)
    reason = (f"{lis.protocol} listener on this port" if lis is not None else
              "no TCP or UDP listener on this port -> 404")
    rows = _rows(lis.groups, None) if lis is not None else ()
    return StreamExplanation(lis.protocol if lis is not None else (protocol or "TCP"), None, "",
                             None if lis is None else lis.name, reason, (), rows, decision)
