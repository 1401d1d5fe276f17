"""BackendTLSPolicies: which policy governs each backend (Service port), and each policy's status.

Invariants (gateway-api-semantics-kinds.md §5):
- a policy targets core Services of its own namespace; ``sectionName`` names a Service port;
- policies with the same target and the same sectionName (or both none) conflict: the oldest
  (creationTimestamp, then "{namespace}/{name}") wins, the others are ``Accepted=False/Conflicted``;
  a port-specific policy and a whole-Service one do not conflict: the port-specific one governs
  its port;
- a backend governed by a policy that cannot be honoured (not accepted for a reason other than a
  conflict lost: no valid CA certificate, an unsupported well-known CA set, a UDP port) gets the
  invalid-reference share (status 500): a policy never falls back to plaintext;
- with no ConfigMap in the configuration at all, every CA certificate reference is taken to
  exist (as with Services).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from attrs import frozen

from .._config.models import CORE_GROUP
from .._outcome import BackendTLS

# what a backend gets when its policy cannot be honoured
UNUSABLE = BackendTLS(policy="", hostname="")


@frozen
class PolicyState:
    policy: object
    accepted: Tuple[bool, str, str]  # (ok, reason, message)
    resolved: Tuple[bool, str, str]
    tls: Optional[BackendTLS]  # what decisions carry, None when not accepted


def _age(p) -> tuple:
    ts = p.creation_timestamp
    return ((1, 0) if ts is None else (0, ts)), p.key


class Policies:
    def __init__(self, attachments):
        config = attachments.config
        self.services = attachments.services
        cms = {(c.namespace, c.name): c for c in config.config_maps}
        self.states: Dict[Tuple[str, str], PolicyState] = {}
        winners: Dict[tuple, object] = {}
        for p in sorted(config.backend_tls_policies, key=_age):
            for t in p.target_refs:
                winners.setdefault((p.namespace, t.group, t.kind, t.name, t.section_name), p)
        # (namespace, service, sectionName or None) -> the state governing it
        self._by_target: Dict[tuple, PolicyState] = {}
        for p in sorted(config.backend_tls_policies, key=_age):
            state = self._state(p, cms, winners)
            self.states.setdefault((p.namespace, p.name), state)
            if state.accepted[0] or state.accepted[1] != "Conflicted":
                for t in p.target_refs:
                    if t.group == CORE_GROUP and t.kind == "Service":
                        self._by_target.setdefault((p.namespace, t.name, t.section_name), state)

    def _state(self, p, cms, winners) -> PolicyState:
        refs_ok, refs_reason, refs_msg = True, "ResolvedRefs", "All references resolved"
        bad = []
        for group, kind, name in p.ca_certificate_refs:
            if group != CORE_GROUP or kind != "ConfigMap":
                bad.append(("InvalidKind", f"caCertificateRef {group or 'core'}/{kind} {name}: not a ConfigMap"))
            elif cms and (p.namespace, name) not in cms:
                bad.append(("InvalidCACertificateRef", f"ConfigMap {p.namespace}/{name} not found"))
            elif cms and not cms[(p.namespace, name)].valid_ca:
                bad.append(("InvalidCACertificateRef",
                            f"ConfigMap {p.namespace}/{name} has no PEM certificate under ca.crt"))
        if bad:
            reason = "InvalidKind" if any(r == "InvalidKind" for r, _ in bad) else "InvalidCACertificateRef"
            refs_ok, refs_reason, refs_msg = False, reason, "; ".join(m for _, m in bad)
        accepted = (True, "Accepted", "Policy is accepted")
        problem = self._target_problem(p)
        if p.ca_certificate_refs and len(bad) == len(p.ca_certificate_refs):
            accepted = (False, "NoValidCACertificate", "no caCertificateRef is valid: " + refs_msg)
        elif p.well_known_ca_certificates not in (None, "System"):
            accepted = (False, "Invalid", f"wellKnownCACertificates {p.well_known_ca_certificates} is not supported")
        elif problem:
            accepted = (False,) + problem
        else:
            for t in p.target_refs:
                w = winners[(p.namespace, t.group, t.kind, t.name, t.section_name)]
                if w is not p:
                    accepted = (False, "Conflicted", f"BackendTLSPolicy {w.key}, older, targets the same "
                                                     f"{t.kind} {t.name}" + (f" port {t.section_name}"
                                                                             if t.section_name else ""))
                    break
        tls = None
        if accepted[0]:
            tls = BackendTLS(policy=p.key, hostname=p.hostname,
                             ca_certificate_refs=tuple(r for r in p.ca_certificate_refs
                                                       if r[0] == CORE_GROUP and r[1] == "ConfigMap"),
                             well_known_ca_certificates=p.well_known_ca_certificates,
                             subject_alt_names=p.subject_alt_names)
        return PolicyState(p, accepted, (refs_ok, refs_reason, refs_msg), tls)

    def _target_problem(self, p) -> Optional[Tuple[str, str]]:
        for t in p.target_refs:
            if t.group != CORE_GROUP or t.kind != "Service":
                return "TargetNotFound", f"target {t.group or 'core'}/{t.kind} {t.name} is not a Service"
            if self.services is None:
                continue
            svc = self.services.get((p.namespace, t.name))
            if svc is None:
                return "TargetNotFound", f"Service {p.namespace}/{t.name} not found"
            if t.section_name is not None:
                port = next((sp for sp in svc.ports if sp.name == t.section_name), None)
                if port is None:
                    return "TargetNotFound", f"Service {p.namespace}/{t.name} has no port named {t.section_name}"
                if port.protocol == "UDP":
                    return "Invalid", f"Service {p.namespace}/{t.name} port {t.section_name} is UDP"
        return None

    def for_backend(self, ref) -> Optional[BackendTLS]:
        """The BackendTLS a decision to backendRef ``ref`` carries, None without a policy, or
        UNUSABLE when its policy cannot be honoured."""
        if ref.group != CORE_GROUP or ref.kind != "Service" or not self._by_target:
            return None
        state = None
        if self.services is not None:
            svc = self.services.get((ref.namespace, ref.name))
            port = next((sp for sp in svc.ports if sp.port == ref.port), None) if svc is not None else None
            if port is not None and port.name is not None:
                state = self._by_target.get((ref.namespace, ref.name, port.name))
        if state is None:
            state = self._by_target.get((ref.namespace, ref.name, None))
        if state is None:
            return None
        return state.tls if state.tls is not None else UNUSABLE

    def ancestors(self, attachments, policy) -> List[object]:
        """The Gateways whose accepted routes send to a Service the policy targets (its
        status.ancestors), by namespace and name (not configuration order: an update moves
        the objects it changes last, and the status must be that of a full load)."""
        targets = {t.name for t in policy.target_refs if t.group == CORE_GROUP and t.kind == "Service"}
        out: List[object] = []
        for rec in attachments.records:
            if not rec.accepted or rec.mesh:
                continue
            if not any(b.namespace == policy.namespace and b.name in targets and b.group == CORE_GROUP
                       and b.kind == "Service" for rule in rec.route.rules for b in rule.backend_refs):
                continue
            gw = attachments.parent_gateway(rec.parent)[0]
            if gw is not None and gw not in out:
                out.append(gw)
        return sorted(out, key=lambda gw: (gw.namespace, gw.name))
