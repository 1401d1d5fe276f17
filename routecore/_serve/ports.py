"""Which server `routecore serve` runs on each listener port of a Gateway, and the certificates
its TLS listeners serve.

Channels, from the listeners' protocol (and TLS mode): HTTP -> ``http``; HTTPS -> ``https``
(TLS terminated here, then HTTP); TLS Passthrough -> ``tls-passthrough``; TLS Terminate ->
``tls-terminate``; TCP -> ``tcp``; UDP -> ``udp``.

Invariants:
- one port serves one TCP-side channel, plus ``udp`` beside it (TCP and UDP listeners may
  share a port number); HTTPS and TLS listeners (either mode) on one port are served together
  as ``tls-mixed``: the ClientHello's SNI picks the listener, by the listeners' hostname
  precedence, before anything is terminated; any other mix (HTTP or TCP with anything) cannot
  be served by one socket: that port is refused with a message naming it and its listeners, at
  start-up and on reload;
- a listener of a protocol we do not serve (a domain-prefixed one) is left out, with a warning;
- a TLS-terminating port serves only listeners with a usable certificate that they may use: a
  listener whose certificateRefs name no usable Secret, or one in another namespace without a
  ReferenceGrant, is left out of the port's certificates (and said so); a port left with none is
  refused.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import attrs

from .tls import CertificateStore, TLSConfigError, server_context

TCP_CHANNELS = ("http", "https", "tls-passthrough", "tls-terminate", "tcp")
TERMINATING = ("https", "tls-terminate", "tls-mixed")
TLS_CHANNELS = frozenset({"https", "tls-terminate", "tls-passthrough"})


def channel_of(listener) -> Optional[str]:
    protocol = listener.protocol
    if protocol == "HTTP":
        return "http"
    if protocol == "HTTPS":
        return "https"
    if protocol == "TLS":
        return "tls-passthrough" if listener.tls_mode == "Passthrough" else "tls-terminate"
    if protocol in ("TCP", "UDP"):
        return protocol.lower()
    return None


@attrs.frozen
class PortPlan:
    """One socket to bind: the Gateway ``port``, its ``channel`` and the listeners it serves."""

    port: int
    channel: str
    listeners: tuple

    @property
    def key(self) -> Tuple[int, str]:
        return (self.port, "udp" if self.channel == "udp" else "tcp")


def sockets(listeners: Sequence, ports: Optional[Sequence[int]] = None
            ) -> Tuple[List[PortPlan], List[str], List[str]]:
    """(the sockets to bind for ``listeners`` (those on ``ports`` when given), warnings, a
    problem per port left out because it mixes channels)."""
    by_key: Dict[Tuple[int, str], Dict[str, list]] = {}
    warnings = []
    for lis in listeners:
        if ports is not None and lis.port not in ports:
            continue
        channel = channel_of(lis)
        if channel is None:
            warnings.append(f"listener {lis.key} (port {lis.port}): protocol {lis.protocol} "
                            f"is not served")
            continue
        side = "udp" if channel == "udp" else "tcp"
        by_key.setdefault((lis.port, side), {}).setdefault(channel, []).append(lis)
    out, problems = [], []
    for (port, _), channels in sorted(by_key.items()):
        if len(channels) > 1 and set(channels) <= TLS_CHANNELS:
            # told apart by the ClientHello's SNI: one socket reads it, then passes the
            # connection through or terminates it (``tls-mixed``)
            out.append(PortPlan(port, "tls-mixed", tuple(l for ls in channels.values() for l in ls)))
            continue
        if len(channels) > 1:
            names = "; ".join(f"{c}: {', '.join(l.key for l in ls)}" for c, ls in channels.items())
            problems.append(f"port {port} mixes listeners one socket cannot serve ({names})")
            continue
        (channel, ls), = channels.items()
        out.append(PortPlan(port, channel, tuple(ls)))
    return out, warnings, problems


def parse_tls_secret(text: str) -> Tuple[Tuple[str, str], Tuple[str, str]]:
    """``NS/NAME=CERT,KEY`` -> ((ns, name), (cert path, key path)); ValueError if malformed."""
    ref, sep, files = text.partition("=")
    ns, slash, name = ref.rpartition("/")
    cert, comma, key = files.partition(",")
    if not (sep and slash and ns and name and comma and cert and key):
        raise ValueError(f"--tls-secret expects NS/NAME=CERT_FILE,KEY_FILE, got {text!r}")
    return (ns, name), (cert, key)


def read_tls_secrets(items: Sequence[str]) -> Dict[Tuple[str, str], Tuple[bytes, bytes]]:
    """``--tls-secret`` values -> (ns, name) -> (certificate PEM, key PEM). ValueError names the
    flag value that is malformed or unreadable."""
    out = {}
    for item in items:
        ref, (cert, key) = parse_tls_secret(item)
        try:
            with open(cert, "rb") as f:
                cert_pem = f.read()
            with open(key, "rb") as f:
                key_pem = f.read()
        except OSError as exc:
            raise ValueError(f"--tls-secret {item}: {exc.strerror}: {exc.filename}") from None
        out[ref] = (cert_pem, key_pem)
    return out


def config_secrets(config) -> Dict[Tuple[str, str], Tuple[bytes, bytes]]:
    """The usable kubernetes.io/tls Secrets of a loaded configuration."""
    return {(s.namespace, s.name): (s.get("tls.crt"), s.get("tls.key"))
            for s in config.secrets if s.valid_tls}


def certificates(port: PortPlan, secrets: Dict[Tuple[str, str], Tuple[bytes, bytes]],
                 alpn: Sequence[str] = (), forbidden: Optional[Dict[str, str]] = None
                 ) -> Tuple[CertificateStore, List[str]]:
    """The CertificateStore of a terminating port, and a warning per listener left out
    (``forbidden``: listener key -> why its certificateRefs may not be used)."""
    chosen, warnings = [], []
    for lis in port.listeners:
        if channel_of(lis) == "tls-passthrough":
            continue  # (on a tls-mixed port) the backend terminates
        if forbidden and lis.key in forbidden:
            warnings.append(f"listener {lis.key} (port {port.port}): {forbidden[lis.key]}; "
                            "not served")
            continue
        refs = [r for r in lis.certificate_refs
                if (r.group, r.kind) == ("", "Secret") and (r.namespace, r.name) in secrets]
        if not refs:
            names = ", ".join(f"{r.namespace}/{r.name}" for r in lis.certificate_refs) or "none"
            warnings.append(f"listener {lis.key} (port {port.port}): no usable certificate "
                            f"(certificateRefs: {names}); not served")
            continue
        ref = refs[0]
        cert, key = secrets[(ref.namespace, ref.name)]
        chosen.append((lis.hostname, server_context(
            cert, key, f"listener {lis.key}: Secret {ref.namespace}/{ref.name}")))
    if not chosen:
        raise TLSConfigError(f"port {port.port}: no listener has a usable certificate "
                             f"({'; '.join(warnings)})")
    return CertificateStore(chosen, alpn), warnings
