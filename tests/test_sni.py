"""The ClientHello reader of TLS passthrough (routecore._serve.sni): real hellos from Python's ssl
module, every fragmentation of them, and a defined answer for any bytes (Hypothesis)."""
from __future__ import annotations

import ssl
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from routecore._serve.sni import MAX_HELLO, Bad, Hello, HelloReader, parse_client_hello


def real_hello(sni=None, **versions) -> bytes:
    """The first flight of a real TLS client (Python's ssl, OpenSSL)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for attr, value in versions.items():
        setattr(ctx, attr, value)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


MUTATED_BASE = real_hello("mut.example.com")  # made once: a handshake per example is slow


def records(body: bytes, sizes) -> bytes:
    """``body`` (a handshake message) cut into handshake records of the given sizes."""
    out, pos = [], 0
    for size in sizes:
        piece = body[pos:pos + size]
        if not piece:
            break
        out.append(b"\x16\x03\x01" + struct.pack("!H", len(piece)) + piece)
        pos += len(piece)
    if pos < len(body):
        rest = body[pos:]
        out.append(b"\x16\x03\x01" + struct.pack("!H", len(rest)) + rest)
    return b"".join(out)


def message(hello: bytes) -> bytes:
    """The handshake message inside a one-record hello."""
    assert hello[0] == 0x16
    length = struct.unpack("!H", hello[3:5])[0]
    return hello[5:5 + length]


def read(data: bytes, chunks=None):
    r = HelloReader()
    if chunks is None:
        return r.feed(data)
    got, pos = None, 0
    for size in chunks:
        got = r.feed(data[pos:pos + size])
        pos += size
        if got is not None or pos >= len(data):
            break
    if got is None and pos < len(data):
        got = r.feed(data[pos:])
    return got


@pytest.mark.parametrize("sni", ["shop.example.com", "a.b", "xn--bcher-kva.example",
                                 "MiXeD.Example.COM", "x" * 63 + ".example.com"])
@pytest.mark.parametrize("versions", [
    {}, {"maximum_version": ssl.TLSVersion.TLSv1_2},
    {"minimum_version": ssl.TLSVersion.TLSv1_3}])
def test_real_hellos_give_their_server_name(sni, versions):
    assert read(real_hello(sni, **versions)) == Hello(sni.lower())


def test_real_hello_without_sni():
    assert read(real_hello(None)) == Hello(None)


def test_byte_by_byte_and_every_split_point():
    hello = real_hello("split.example.com")
    assert read(hello, [1] * len(hello)) == Hello("split.example.com")
    for cut in range(1, len(hello)):
        r = HelloReader()
        assert r.feed(hello[:cut]) is None
        assert r.feed(hello[cut:]) == Hello("split.example.com")


@given(st.lists(st.integers(1, 300), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_record_fragmentation_reassembles(sizes):
    body = message(real_hello("frag.example.com"))
    assert read(records(body, sizes)) == Hello("frag.example.com")


def test_bytes_after_the_hello_are_not_looked_at():
    hello = real_hello("early.example.com")
    # 0-RTT data / CCS may follow the hello in the same read: not ours to judge
    assert read(hello + b"\x17\x03\x03\x00\x05hello" + b"\xff" * 100) == Hello("early.example.com")


@pytest.mark.parametrize("data, reason", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a TLS handshake record"),
    (b"\x80\x2e\x01\x03\x01", "not a TLS handshake record"),            # SSLv2-compatible hello
    (b"\x15\x03\x01\x00\x02\x02\x28", "not a TLS handshake record"),    # an alert first
    (b"\x16\x02\x00\x00\x05", "not TLS record version 3.x"),
    (b"\x16\x03\x01\x00\x00", "TLS record length out of range"),
    (b"\x16\x03\x01\x40\x01", "TLS record length out of range"),
    (b"\x16\x03\x01\x00\x04\x02\x00\x00\x26", "first handshake message is not a ClientHello"),
    (b"\x16\x03\x01\x00\x04\x01\xff\xff\xff", f"ClientHello larger than {MAX_HELLO} bytes"),
    (b"\x16\x03\x01\x00\x04\x01\x00\x00\x05", "ClientHello too short"),
])
def test_garbage_gets_a_defined_refusal(data, reason):
    assert read(data) == Bad(reason)
    assert read(data, [1] * len(data)) == Bad(reason)  # as soon as the bytes say it


def test_oversized_hello_is_refused_before_it_is_read():
    r = HelloReader(max_hello=1000)
    assert r.feed(b"\x16\x03\x01\x00\x04\x01\x00\x03\xe9") == Bad("ClientHello larger than 1000 bytes")


def test_truncated_hello_waits_then_a_non_handshake_record_is_refused():
    hello = real_hello("t.example.com")
    body = message(hello)
    r = HelloReader()
    assert r.feed(records(body, [100])[:105]) is None     # the first record only: need more
    assert r.feed(b"\x17\x03\x03\x00\x01x") == Bad("a non-handshake record inside the ClientHello")


def _with_extensions(exts: bytes) -> bytes:
    body = (b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    return body


def _sni_ext(*entries) -> bytes:
    lst = b"".join(bytes([t]) + struct.pack("!H", len(n)) + n for t, n in entries)
    data = struct.pack("!H", len(lst)) + lst
    return b"\x00\x00" + struct.pack("!H", len(data)) + data


@pytest.mark.parametrize("exts, expected", [
    (_sni_ext((0, b"ok.example.com")), Hello("ok.example.com")),
    (b"", Hello(None)),
    (_sni_ext((0, b"a.example")) + _sni_ext((0, b"b.example")), Bad("extension 0 repeated")),
    (_sni_ext((0, b"a.example"), (0, b"b.example")), Bad("two host_name entries")),
    (_sni_ext(), Bad("empty server_name list")),
    (_sni_ext((0, b"bad_name.example")), Bad("server_name is not a valid host name")),
    (_sni_ext((0, b"trailing.dot.")), Bad("server_name is not a valid host name")),
    (_sni_ext((0, b"a..b")), Bad("server_name is not a valid host name")),
    (_sni_ext((0, b"")), Bad("server_name is not a valid host name")),
    (_sni_ext((0, b"x" * 64 + b".com")), Bad("server_name is not a valid host name")),
    (_sni_ext((0, b"nul\x00.example")), Bad("server_name is not a valid host name")),
    (_sni_ext((1, b"other-type")), Bad("no host_name in server_name")),
])
def test_server_name_extension_cases(exts, expected):
    assert parse_client_hello(_with_extensions(exts)) == expected


def test_inconsistent_lengths_are_malformed():
    good = _with_extensions(_sni_ext((0, b"ok.example.com")))
    assert isinstance(parse_client_hello(good[:-1]), Bad)          # truncated
    assert isinstance(parse_client_hello(good + b"\x00"), Bad)     # trailing byte
    no_suites = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x00" + b"\x01\x00"
    assert parse_client_hello(no_suites) == Bad("cipher suites list empty or odd")


@given(st.binary(max_size=3000), st.lists(st.integers(1, 700), max_size=20))
@settings(max_examples=500, deadline=None)
def test_any_bytes_get_a_defined_result(data, chunks):
    """Never raises; an answer, once given, is kept; None only for a prefix of a valid record
    stream."""
    r = HelloReader()
    got, pos = None, 0
    for size in chunks + [len(data)]:
        step = r.feed(data[pos:pos + size])
        pos += size
        assert step is None or isinstance(step, (Hello, Bad))
        if got is not None:
            assert step == got
        got = step
    if got is not None:
        assert r.feed(b"more") == got


@given(st.binary(max_size=600))
@settings(max_examples=500, deadline=None)
def test_any_handshake_body_gets_a_defined_result(body):
    assert isinstance(parse_client_hello(body), (Hello, Bad))


@given(st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_real_hellos_never_crash(data):
    hello = bytearray(MUTATED_BASE)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(hello) - 1))
        hello[i] = data.draw(st.integers(0, 255))
    got = read(bytes(hello))
    assert got is None or isinstance(got, (Hello, Bad))
    if isinstance(got, Hello) and got.sni is not None:
        assert got.sni == got.sni.lower() and len(got.sni) <= 253
