"""The rig of the TLS/TCP/UDP serve tests (no tests here): certificates from a throw-away CA
(trustme), and real echo servers on 127.0.0.1 — TCP, TLS (which also says the SNI it was given
and the name it serves), UDP, and an HTTPS upstream that answers every request with its name.
Every server runs in a daemon thread with socket timeouts and is closed by ``close()``."""
from __future__ import annotations

import socket
import ssl
import threading

import trustme


class Certs:
    """A CA, and leaf certificates issued by it, written to ``folder`` as PEM files."""

    def __init__(self, folder):
        self.folder = folder
        self.ca = trustme.CA()
        self.ca_path = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))

    def issue(self, tag: str, *names: str):
        """(cert path, key path) of a leaf for ``names``."""
        leaf = self.ca.issue_cert(*names)
        cert, key = self.folder / f"{tag}.crt", self.folder / f"{tag}.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(key))
        return cert, key

    def server_context(self, tag: str, *names: str) -> ssl.SSLContext:
        cert, key = self.issue(tag, *names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        return ctx


class _Server:
    """A thread accepting connections on 127.0.0.1:<free port>, one thread per connection."""

    kind = socket.SOCK_STREAM

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, self.kind)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stopped = False
        self.seen = []   # per connection: what the server observed (SNI...)
        if self.kind == socket.SOCK_STREAM:
            self.sock.listen(64)
        threading.Thread(target=self._loop, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _loop(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(10)
            threading.Thread(target=self._serve_guarded, args=(conn,), daemon=True).start()

    def _serve_guarded(self, conn):
        try:
            self.serve(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


class TCPEcho(_Server):
    """Echoes every byte, and half-closes when the client does."""

    def serve(self, conn):
        while True:
            data = conn.recv(65536)
            if not data:
                conn.shutdown(socket.SHUT_WR)
                return
            conn.sendall(data)


class TLSEcho(_Server):
    """Terminates TLS with its own certificate; answers each line with ``<name> <sni> <line>``."""

    def __init__(self, name: str, context: ssl.SSLContext):
        self.name = name
        self.context = context
        super().__init__()

    def handshake(self, conn):
        """(the TLS socket, the SNI the client sent)."""
        got = {}

        def remember(obj, server_name, ctx):
            got["sni"] = server_name
        self.context.sni_callback = remember
        tls = self.context.wrap_socket(conn, server_side=True)
        self.seen.append(got.get("sni"))
        return tls, got.get("sni")

    def serve(self, conn):
        tls, sni = self.handshake(conn)
        buf = b""
        while True:
            data = tls.recv(65536)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                tls.sendall(b"%s %s %s\n" % (self.name.encode(), (sni or "-").encode(), line))


class HTTPSUpstream(TLSEcho):
    """An HTTPS server: every request gets 200 with body ``<name> sni=<sni>``."""

    def serve(self, conn):
        tls, sni = self.handshake(conn)
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = tls.recv(65536)
            if not data:
                return
            buf += data
        body = f"{self.name} sni={sni}".encode()
        tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                    % (len(body), body))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class UDPEcho(_Server):
    """Answers each datagram with ``<name> <datagram>``, from its one socket."""

    kind = socket.SOCK_DGRAM

    def __init__(self, name: str):
        self.name = name
        super().__init__()

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    def _loop(self):
        while not self.stopped:
            try:
                data, addr = self.sock.recvfrom(65536)
            except (socket.timeout, OSError):
                continue
            self.seen.append(addr)
            try:
                self.sock.sendto(self.name.encode() + b" " + data, addr)
            except OSError:
                pass


def read_all(sock) -> bytes:
    """Everything ``sock`` receives until the peer closes."""
    out = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return out
        out += data


def tls_line(port: int, sni: str, ctx: ssl.SSLContext, line: bytes, timeout: float = 10.0) -> bytes:
    """Connect over TLS with ``sni`` (verified against ``ctx``), send ``line``, read one line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            tls.sendall(line + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                data = tls.recv(4096)
                if not data:
                    break
                buf += data
            return buf


def refused(port: int, sni: str, ctx: ssl.SSLContext, timeout: float = 10.0) -> bool:
    """True when the connection is closed or reset during the handshake (the conformance
    suite's "connection rejected"); a completed handshake or a timeout is False."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=sni):
                return False
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return True
        except ssl.SSLError as exc:
            return "EOF" in str(exc) or "unexpected eof" in str(exc).lower()
        except socket.timeout:
            return False
