"""The listeners of one Gateway, merged with those of the ListenerSets it admits, and the state of
each: accepted or not and why, conflicts, supported route kinds, certificate references.

Invariants (gateway-api-semantics-kinds.md §1.3, §1.4, §4, §6):
- ``GatewayListeners.states`` is the merged list in precedence order: the Gateway's own listeners,
  then the entries of each admitted ListenerSet, oldest set first, then "{namespace}/{name}";
- inside the Gateway, indistinct listeners are all refused (none wins); a ListenerSet entry
  indistinct from a listener accepted before it is refused ("first wins");
- routes attach only to listeners whose ``accepted`` is True (``refused`` lists the others), and
  only to the kinds in ``kinds``;
- a listener's certificate references never change whether routes attach; they decide its
  ResolvedRefs condition and whether a ListenerSet entry counts as valid.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from attrs import frozen

from .._config.models import CORE_GROUP, GATEWAY_GROUP, Config, Listener

# route kinds a listener takes by default, by protocol (digest §1.4)
PROTOCOL_KINDS = {"HTTP": ("HTTPRoute", "GRPCRoute"), "HTTPS": ("HTTPRoute", "GRPCRoute"),
                  "TLS": ("TLSRoute",), "TCP": ("TCPRoute",), "UDP": ("UDPRoute",)}
# protocols that share a port when told apart by SNI (HTTPS and TLS); TCP and UDP never meet
_FAMILY = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls", "TCP": "tcp", "UDP": "udp"}


@frozen
class ListenerState:
    listener: Listener
    accepted: bool
    reason: str  # the Accepted condition's reason
    message: str
    conflict: Optional[str]  # "HostnameConflict" | "ProtocolConflict" | None
    kinds: Tuple[str, ...]  # supportedKinds (group gateway.networking.k8s.io)
    invalid_kinds: Tuple[str, ...]  # "group/kind" of allowedRoutes.kinds not supported here
    refs_reason: Optional[str]  # None: certificate references resolve; else the reason
    refs_message: str = ""

    @property
    def valid(self) -> bool:
        """Accepted and its references resolve (what counts for a ListenerSet's acceptance)."""
        return self.accepted and self.refs_reason is None


@frozen
class SetState:
    listener_set: object
    accepted: bool
    reason: str
    message: str
    entries: Tuple[ListenerState, ...] = ()


class GatewayListeners:
    def __init__(self, gateway, states: List[ListenerState], sets: List[SetState]):
        self.gateway = gateway
        self.states = tuple(states)
        self.sets = tuple(sets)
        self.by_key: Dict[str, ListenerState] = {s.listener.key: s for s in states}
        self.refused = frozenset(s.listener.key for s in states if not s.accepted)

    @property
    def listeners(self) -> Tuple[Listener, ...]:
        return tuple(s.listener for s in self.states)

    @property
    def attached_sets(self) -> int:
        return sum(1 for s in self.sets if s.accepted)


def supported_kinds(listener: Listener) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(supportedKinds, invalid "group/kind"s) of a listener."""
    default = PROTOCOL_KINDS.get(listener.protocol, ())
    if not listener.allowed_kinds:
        return default, ()
    ok = tuple(k.kind for k in listener.allowed_kinds if k.group == GATEWAY_GROUP and k.kind in default)
    bad = tuple(f"{k.group}/{k.kind}" for k in listener.allowed_kinds
                if not (k.group == GATEWAY_GROUP and k.kind in default))
    return ok, bad


def _indistinct(a: Listener, b: Listener) -> Optional[str]:
    """The conflict reason when two listeners on one port cannot be told apart, else None."""
    if a.port != b.port:
        return None
    fa, fb = _FAMILY.get(a.protocol, a.protocol), _FAMILY.get(b.protocol, b.protocol)
    if "udp" in (fa, fb):
        return "ProtocolConflict" if fa == fb else None
    if fa != fb:
        return "ProtocolConflict"
    if fa == "tcp":
        return "ProtocolConflict"
    return "HostnameConflict" if a.hostname == b.hostname else None


def _granted(config: Config, from_kind: str, from_ns: str, ref) -> bool:
    for g in config.reference_grants:
        if g.namespace != ref.namespace:
            continue
        if not any(f.group == GATEWAY_GROUP and f.kind == from_kind and f.namespace == from_ns for f in g.from_):
            continue
        if any(t.group == ref.group and t.kind == ref.kind and t.name in (None, ref.name) for t in g.to):
            return True
    return False


def certificate_problem(config: Config, listener: Listener, owner_kind: str, owner_ns: str
                        ) -> Tuple[Optional[str], str]:
    """(None, "") when the listener's certificateRefs resolve, else (reason, message).

    With no Secret in the configuration at all, every Secret reference is taken to exist (as
    with Services)."""
    if listener.protocol not in ("HTTPS", "TLS") or listener.tls_mode == "Passthrough":
        return None, ""
    secrets = {(s.namespace, s.name): s for s in config.secrets}
    for ref in listener.certificate_refs:
        where = f"certificateRef {ref.namespace}/{ref.name}"
        if ref.group != CORE_GROUP or ref.kind != "Secret":
            return "InvalidCertificateRef", f"{where}: {ref.group or 'core'}/{ref.kind} is not a Secret"
        if ref.namespace != owner_ns and not _granted(config, owner_kind, owner_ns, ref):
            return "RefNotPermitted", f"{where}: no ReferenceGrant allows it from {owner_kind} in {owner_ns}"
        if secrets:
            secret = secrets.get((ref.namespace, ref.name))
            if secret is None:
                return "InvalidCertificateRef", f"{where}: Secret not found"
            if not secret.valid_tls:
                return "InvalidCertificateRef", (f"{where}: not a kubernetes.io/tls Secret with PEM "
                                                 "tls.crt and tls.key")
    return None, ""


def _state(config: Config, lis: Listener, owner_kind: str, owner_ns: str,
           conflict: Optional[str]) -> ListenerState:
    kinds, invalid = supported_kinds(lis)
    refs_reason, refs_message = certificate_problem(config, lis, owner_kind, owner_ns)
    if lis.protocol not in PROTOCOL_KINDS:
        return ListenerState(lis, False, "UnsupportedProtocol",
                             f"protocol {lis.protocol} is not supported", None, (), invalid,
                             refs_reason, refs_message)
    if conflict is not None:
        return ListenerState(lis, False, conflict, f"listener conflicts with another on port {lis.port}",
                             conflict, (), invalid, refs_reason, refs_message)
    return ListenerState(lis, True, "Accepted", "Listener is accepted", None, kinds, invalid,
                         refs_reason, refs_message)


def _namespace_labels(config: Config, namespace: str) -> dict:
    for ns in config.namespaces:
        if ns.name == namespace:
            return ns.label_map
    return {"kubernetes.io/metadata.name": namespace}


def _set_allowed(config: Config, gw, ls) -> bool:
    how = gw.allowed_listeners
    if how == "All":
        return True
    if how == "Same":
        return ls.namespace == gw.namespace
    if how == "Selector":
        return gw.listeners_selector is not None and gw.listeners_selector.matches(
            _namespace_labels(config, ls.namespace))
    return False


def _age(obj) -> tuple:
    ts = obj.creation_timestamp
    return ((1, 0) if ts is None else (0, ts)), f"{obj.namespace}/{obj.name}"


def merge(config: Config, gw) -> GatewayListeners:
    own = gw.listeners
    states = []
    for lis in own:
        conflict = next((why for other in own if other is not lis
                         for why in [_indistinct(lis, other)] if why), None)
        states.append(_state(config, lis, "Gateway", gw.namespace, conflict))
    accepted = [s.listener for s in states if s.accepted]
    sets: List[SetState] = []
    mine = [ls for ls in config.listener_sets
            if ls.parent == (GATEWAY_GROUP, "Gateway", gw.namespace, gw.name)]
    for ls in sorted(mine, key=_age):
        if not _set_allowed(config, gw, ls):
            sets.append(SetState(ls, False, "NotAllowed",
                                 f"Gateway {gw.namespace}/{gw.name} does not allow ListenerSets from "
                                 f"namespace {ls.namespace} (allowedListeners: {gw.allowed_listeners})"))
            continue
        entries, taken = [], list(accepted)
        for lis in ls.listeners:
            conflict = next((why for other in taken for why in [_indistinct(lis, other)] if why), None)
            st = _state(config, lis, "ListenerSet", ls.namespace, conflict)
            entries.append(st)
            if st.accepted:
                taken.append(lis)
        if any(e.valid for e in entries):
            sets.append(SetState(ls, True, "Accepted", "ListenerSet is accepted", tuple(entries)))
            states.extend(entries)
            accepted = taken
        else:
            sets.append(SetState(ls, False, "ListenersNotValid", "no listener of the set is valid",
                                 tuple(entries)))
    return GatewayListeners(gw, states, sets)
