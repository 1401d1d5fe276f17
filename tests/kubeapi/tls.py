"""The test server's cluster CA and certificates (trustme), as a cluster's PKI: one CA signs the
server's certificate (for 127.0.0.1 and localhost) and the client certificates it accepts.

Invariant: the server asks for a client certificate but does not require one (a bearer token
may authenticate instead); one it gets must chain to the cluster CA, or the handshake fails.
"""
from __future__ import annotations

import ssl
from typing import Tuple

import trustme


class ServerTLS:
    def __init__(self):
        self.ca = trustme.CA()
        self.ca_pem = self.ca.cert_pem.bytes()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.context)
        self.ca.configure_trust(self.context)
        self.context.verify_mode = ssl.CERT_OPTIONAL

    def client_cert(self, user: str) -> Tuple[bytes, bytes]:
        """(certificate PEM, key PEM) of a client certificate for ``user`` (CN) of the cluster CA."""
        leaf = self.ca.issue_cert(f"{user}.kubeapi.test", common_name=user)
        return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting the cluster CA (and nothing else)."""
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode())
        return ctx
