"""TLS for `routecore serve`: listener certificates chosen by SNI, and backend connections
verified as a BackendTLSPolicy says.

Invariants:
- a listener serves the first usable certificate of its ``certificateRefs`` (a kubernetes.io/tls
  Secret from the configuration, or one given with ``--tls-secret``; the second wins); the
  certificate of a handshake is the one of the listener its SNI selects, by the listeners'
  hostname precedence (exact, then the longest wildcard, then no hostname), the same rule that
  picks the listener for the Host; no SNI, or an SNI no listener takes, gets the certificate of
  the port's first listener (the HTTP layer then answers 404/421 as the library decides);
- key material is read from memory once, at start-up and reload, through a private temporary
  file (mode 0600) deleted at once: ``ssl`` loads chains only from files;
- a backend connection under a policy always verifies: CA certificates from the policy's
  ConfigMaps, or the system's for ``wellKnownCACertificates: System``; SNI = ``hostname``; the
  certificate must match ``hostname``, or, when ``subjectAltNames`` is set, one of them (and
  ``hostname`` is then only the SNI), as GEP-1897 says; a policy we cannot honour (no usable CA)
  refuses the connection, never falls back to plaintext or to no verification.
"""
from __future__ import annotations

import os
import ssl
import tempfile
import weakref
from typing import Dict, List, Optional, Sequence, Tuple

from .._predicates import listener_rank
from .._paths import host_key

_SNI = weakref.WeakKeyDictionary()   # server-side SSLObject -> the SNI it was given


class TLSConfigError(ValueError):
    """A listener's certificate cannot be served (said at start-up, or a reload is refused)."""


def server_context(cert_pem: bytes, key_pem: bytes, what: str) -> ssl.SSLContext:
    """A server context for one certificate chain and key (PEM bytes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    fd, path = tempfile.mkstemp(prefix="routecore-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp: mode 0600, ours alone
            f.write(cert_pem.rstrip(b"\n") + b"\n" + key_pem)
        ctx.load_cert_chain(path)
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"{what}: the certificate or key cannot be loaded ({exc})") from None
    finally:
        os.unlink(path)
    return ctx


class CertificateStore:
    """The certificates of the listeners on one port: ``context`` is the SSLContext to serve with;
    its SNI callback switches each handshake to the certificate of the listener the SNI selects.

    ``listeners``: (hostname or None, SSLContext) in the order of the Gateway."""

    def __init__(self, listeners: Sequence[Tuple[Optional[str], ssl.SSLContext]],
                 alpn: Sequence[str] = ()):
        if not listeners:
            raise TLSConfigError("no listener with a usable certificate")
        self.alpn = list(alpn)
        self.listeners: list = []
        self.update(listeners)
        self.context = self.listeners[0][1]  # what the socket starts each handshake with

    def update(self, listeners: Sequence[Tuple[Optional[str], ssl.SSLContext]]) -> None:
        """Serve these from the next handshake on (a reload)."""
        for _, ctx in listeners:
            ctx.sni_callback = self._sni
            if self.alpn:
                ctx.set_alpn_protocols(self.alpn)
        self.listeners = list(listeners)

    def choose(self, sni: Optional[str]) -> ssl.SSLContext:
        best = best_listener(self.listeners, sni) if sni else None
        return best if best is not None else self.listeners[0][1]

    def _sni(self, sslobj, server_name, _ctx):
        _SNI[sslobj] = server_name
        chosen = self.choose(server_name)
        if chosen is not sslobj.context:
            sslobj.context = chosen
        return None


def best_listener(items: Sequence[Tuple[Optional[str], object]], sni: Optional[str]):
    """The value of the (listener hostname, value) pair the SNI selects by the listeners'
    hostname precedence (exact, longest wildcard, no hostname), or None. No SNI: only a
    listener without hostname."""
    hk = host_key(sni) if sni else ""
    best, best_rank = None, None
    for hostname, value in items:
        rank = listener_rank(hostname, hk) if hk or hostname is None else None
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = value, rank
    return best


def sni_of(transport) -> Optional[str]:
    """The SNI a TLS client sent on ``transport`` (None: none, or not TLS)."""
    obj = transport.get_extra_info("ssl_object")
    return None if obj is None else _SNI.get(obj)


# --- backend TLS (BackendTLSPolicy) --------------------------------------------------------------

class BackendTLS:
    """How to reach a backend under a policy: ``context`` (verifying), ``server_hostname`` (the
    SNI), and ``check(peercert)`` for subjectAltNames (None when the certificate is acceptable,
    else the reason). ``error``: the policy cannot be honoured (every connection is refused)."""

    def __init__(self, policy, ca_pem: Optional[str], error: Optional[str] = None):
        self.policy = policy
        self.server_hostname = policy.hostname
        self.sans = tuple(policy.subject_alt_names)
        self.error = error
        self.context: Optional[ssl.SSLContext] = None
        if error is not None:
            return
        try:
            if policy.well_known_ca_certificates == "System":
                ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            elif ca_pem:
                ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
            else:
                self.error = "no valid CA certificate"
                return
        except (ssl.SSLError, ValueError) as exc:
            self.error = f"CA certificates cannot be loaded ({exc})"
            return
        # with subjectAltNames the hostname is only the SNI: the SANs authenticate (check())
        ctx.check_hostname = not self.sans
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.context = ctx

    def check(self, peercert: Optional[dict]) -> Optional[str]:
        if not self.sans:
            return None  # check_hostname did it during the handshake
        got = [(t, v) for t, v in (peercert or {}).get("subjectAltName", ())]
        for kind, want in self.sans:
            for t, v in got:
                if kind == "URI" and t == "URI" and v == want:
                    return None
                if kind == "Hostname" and t == "DNS" and _dns_matches(v, want):
                    return None
        return ("certificate subjectAltNames " + (", ".join(f"{t}:{v}" for t, v in got) or "none")
                + " match none of the policy's")


def failure(exc: Exception) -> str:
    """A short reason for a failed TLS connection to a backend."""
    return (getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
            or getattr(exc, "strerror", None) or str(exc))


def _dns_matches(cert_name: str, wanted: str) -> bool:
    """RFC 6125: a certificate's ``*.x`` covers exactly one label."""
    c, w = cert_name.lower().rstrip("."), wanted.lower().rstrip(".")
    if c == w:
        return True
    if c.startswith("*.") and not w.startswith("*."):
        head, _, rest = w.partition(".")
        return bool(head) and rest == c[2:]
    return False


def backend_tls(policy, config_maps: Dict[Tuple[str, str], object]) -> BackendTLS:
    """The BackendTLS for a decision's ``backend_tls`` (namespace from ``policy.policy``);
    ``config_maps``: (namespace, name) -> ConfigMap (``get("ca.crt")``)."""
    namespace = policy.policy.partition("/")[0]
    pems: List[str] = []
    for group, kind, name in policy.ca_certificate_refs:
        cm = config_maps.get((namespace, name)) if (group, kind) == ("", "ConfigMap") else None
        pem = cm.get("ca.crt") if cm is not None else None
        if pem and "-----BEGIN CERTIFICATE-----" in pem:
            pems.append(pem)
    return BackendTLS(policy, "\n".join(pems) or None)
