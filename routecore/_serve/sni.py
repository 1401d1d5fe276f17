"""The server name (SNI) of a TLS ClientHello, read without terminating TLS (TLS passthrough).

``HelloReader`` is fed the first bytes a client sends, as they arrive, and answers once it can:
a ``Hello`` (with ``sni`` the server name, or None when the hello carries none) or a ``Bad``
(with a short reason). It never looks past the ClientHello and never changes the bytes: the
caller forwards everything it was fed, untouched.

Invariants:
- the result is defined for every input: ``feed`` returns None (need more bytes), a ``Hello`` or
  a ``Bad``, never raises, and once it has answered it keeps that answer;
- work and memory are bounded: the handshake message is reassembled from records of any size
  (1 byte to 2^14, RFC 8446 section 5.1) in linear time, each byte copied once; a hello
  announcing more than ``max_hello`` bytes is ``Bad`` as soon as its header is read, so at most
  ``max_hello`` + one record is ever held;
- only a well-formed TLS 1.0-1.3 ClientHello is a ``Hello``: handshake records only (no alert,
  change_cipher_spec or application data first), every length consistent with its container,
  cipher suites a non-empty even list, at least one compression method, each extension type at
  most once, the extensions filling the message exactly; the SSLv2-compatible hello is ``Bad``;
- the server name is RFC 6066's host_name entry: ASCII letters, digits, ``-`` and ``.``, 1..253
  bytes, no empty label, no trailing dot, returned in lower case; any other server_name list
  (empty, two host_names, a bad name) is ``Bad``.
"""
from __future__ import annotations

import re
from typing import Optional, Union

import attrs

MAX_HELLO = 65536          # largest ClientHello body we wait for (Envoy's tls_inspector: 64 KiB)
_RECORD_MAX = 1 << 14      # TLSPlaintext.length limit
_HANDSHAKE = 22
_CLIENT_HELLO = 1
_EXT_SERVER_NAME = 0
_HOST_NAME = 0
_NAME = re.compile(rb"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*")


@attrs.frozen
class Hello:
    """A well-formed ClientHello; ``sni`` is its host_name (lower case) or None."""

    sni: Optional[str]


@attrs.frozen
class Bad:
    """Not a ClientHello we accept; ``reason`` says why (for the log)."""

    reason: str


Result = Union[Hello, Bad]


class HelloReader:
    """Incremental: ``feed(data)`` each chunk as it arrives until it returns a result."""

    def __init__(self, max_hello: int = MAX_HELLO):
        self.max_hello = max_hello
        self.result: Optional[Result] = None
        self._raw = bytearray()   # record bytes not yet taken apart
        self._hs = bytearray()    # the handshake message reassembled so far
        self._need: Optional[int] = None  # the handshake message's size, once known

    def feed(self, data: bytes) -> Optional[Result]:
        if self.result is None:
            self._raw += data
            self.result = self._step()
        return self.result

    def _step(self) -> Optional[Result]:
        raw = self._raw
        pos = 0
        try:
            while len(raw) - pos >= 5:
                ctype, major, length = raw[pos], raw[pos + 1], (raw[pos + 3] << 8) | raw[pos + 4]
                if ctype != _HANDSHAKE:
                    return Bad("not a TLS handshake record" if pos == 0 and not self._hs
                               else "a non-handshake record inside the ClientHello")
                if major != 3:
                    return Bad("not TLS record version 3.x")
                if length == 0 or length > _RECORD_MAX:
                    return Bad("TLS record length out of range")
                if len(raw) - pos - 5 < length:
                    break
                self._hs += raw[pos + 5:pos + 5 + length]
                pos += 5 + length
                bad = self._header()
                if bad is not None:
                    return bad
                if self._need is not None and len(self._hs) >= self._need + 4:
                    if len(self._hs) > self._need + 4:
                        return Bad("bytes after the ClientHello in its record")
                    return parse_client_hello(bytes(self._hs[4:]))
        finally:
            del raw[:pos]
        if raw[:1] not in (b"", bytes([_HANDSHAKE])):
            return Bad("not a TLS handshake record")
        if len(raw) >= 2 and raw[1] != 3:
            return Bad("not TLS record version 3.x")
        return None

    def _header(self) -> Optional[Bad]:
        hs = self._hs
        if hs[:1] != bytes([_CLIENT_HELLO]):
            return Bad("first handshake message is not a ClientHello")
        if self._need is None and len(hs) >= 4:
            self._need = (hs[1] << 16) | (hs[2] << 8) | hs[3]
            if self._need > self.max_hello:
                return Bad(f"ClientHello larger than {self.max_hello} bytes")
            if self._need < 38:
                return Bad("ClientHello too short")
        return None


class _Cursor:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None):
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if n > self.end - self.pos:
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def sub(self, length_bytes: int) -> "_Cursor":
        n = self.int(length_bytes)
        if n > self.end - self.pos:
            raise ValueError("a length runs past its container")
        c = _Cursor(self.data, self.pos, self.pos + n)
        self.pos += n
        return c

    @property
    def left(self) -> int:
        return self.end - self.pos


def parse_client_hello(body: bytes) -> Result:
    """The ClientHello handshake body (after the 4-byte handshake header) -> Hello or Bad."""
    try:
        return _parse(_Cursor(body))
    except ValueError as exc:
        return Bad(f"malformed ClientHello: {exc}")


def _parse(c: _Cursor) -> Result:
    version = c.int(2)
    if version >> 8 != 3:
        return Bad("ClientHello legacy_version is not 3.x")
    c.take(32)  # random
    session = c.sub(1)
    if session.left > 32:
        return Bad("session id longer than 32 bytes")
    suites = c.sub(2)
    if suites.left < 2 or suites.left % 2:
        return Bad("cipher suites list empty or odd")
    if c.sub(1).left < 1:
        return Bad("no compression method")
    if c.left == 0:
        return Hello(None)  # no extensions (TLS 1.0-1.2 allow it)
    exts = c.sub(2)
    if c.left:
        raise ValueError("bytes after the extensions")
    seen = set()
    sni: Optional[str] = None
    while exts.left:
        kind = exts.int(2)
        data = exts.sub(2)
        if kind in seen:
            return Bad(f"extension {kind} repeated")
        seen.add(kind)
        if kind == _EXT_SERVER_NAME:
            got = _server_name(data)
            if isinstance(got, Bad):
                return got
            sni = got
    return Hello(sni)


def _server_name(c: _Cursor) -> Union[str, Bad]:
    names = c.sub(2)
    if c.left:
        raise ValueError("bytes after the server_name list")
    if not names.left:
        return Bad("empty server_name list")
    host: Optional[str] = None
    while names.left:
        kind = names.int(1)
        entry = names.sub(2)
        value = entry.take(entry.left)
        if kind != _HOST_NAME:
            continue  # other name types are unknown to RFC 6066; skipped
        if host is not None:
            return Bad("two host_name entries")
        if len(value) > 253 or _NAME.fullmatch(value) is None:
            return Bad("server_name is not a valid host name")
        host = value.decode("ascii").lower()
    if host is None:
        return Bad("no host_name in server_name")
    return host
