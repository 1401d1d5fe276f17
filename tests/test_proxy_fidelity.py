"""Issue 10, findings 4-8 and the fidelity matrix: the upstream receives exactly the client's
header list minus hop-by-hop headers, plus the route's changes, plus one X-Forwarded-For/-Proto/
-Host of the proxy's; the client receives the upstream's headers once each."""
import itertools

import pytest

from test_proxy_rig import Recorder, Serve, connect, exchange, read_responses, wait_until, write_config

HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
XF = {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"}


def respond(msg):
    body = b"fine"
    return (b"HTTP/1.1 200 OK\r\nDate: Mon, 30 Nov 2026 10:00:00 GMT\r\nServer: upstream/1\r\n"
            b"X-Internal: secret\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
            b"Keep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            b"Content-Length: 4\r\n\r\n" + body)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    v1 = Recorder(respond)
    path = write_config(tmp_path_factory.mktemp("fidelity"))
    plain = Serve(path, {"shop/v1:80": v1.url})
    trusting = Serve(path, {"shop/v1:80": v1.url}, "--trusted-proxies", "127.0.0.0/8", "10.0.0.0/8")
    yield plain, trusting, v1
    plain.stop()
    trusting.stop()
    v1.close()


def _expected(client_headers, peer=b"127.0.0.1", host=None):
    tokens = set()
    for n, v in client_headers:
        if n.lower() == b"connection":
            tokens |= {t.strip().lower() for t in v.split(b",")}
    kept = [(n, v) for n, v in client_headers
            if n.lower() not in HOP | XF and (n.lower() not in tokens or n.lower() in
                                              (b"host", b"content-length", b"transfer-encoding"))]
    kept.append((b"x-forwarded-for", peer))
    kept.append((b"x-forwarded-proto", b"http"))
    if host is not None:
        kept.append((b"x-forwarded-host", host))
    return kept


OPTIONAL = [
    (b"User-Agent", b"curl/8.0"), (b"Accept", b"*/*"), (b"accept-encoding", b"identity"),
    (b"Cookie", b"a=1"), (b"cookie", b"b=2"), (b"X-Forwarded-For", b"6.6.6.6"),
    (b"X-Forwarded-Proto", b"https"), (b"X-Forwarded-Host", b"evil"), (b"Forwarded", b"for=6.6.6.6"),
    (b"Connection", b"keep-alive, X-Hop"), (b"X-Hop", b"gone"), (b"Keep-Alive", b"300"),
    (b"TE", b"trailers"), (b"Proxy-Connection", b"keep-alive"), (b"Upgrade", b"h2c"),
]


@pytest.mark.parametrize("version", [b"1.1", b"1.0"])
@pytest.mark.parametrize("body", ["none", "cl", "chunked"])
@pytest.mark.parametrize("extras", [0, 1, 2, 3])
def test_fidelity_matrix(rig, version, body, extras):
    plain, _, v1 = rig
    chosen = [h for i, h in enumerate(OPTIONAL) if (i + extras) % 4 != 0 or extras == 3]
    if version == b"1.0":
        chosen = [h for h in chosen if h[0].lower() != b"connection"]
    tag = b"/matrix/%s/%s/%d" % (version, body.encode(), extras)
    headers = [(b"Host", b"shop.example.com")] + chosen
    payload = b""
    if body == "cl":
        headers.append((b"Content-Length", b"5"))
        payload = b"hello"
    elif body == "chunked" and version == b"1.1":
        headers.append((b"Transfer-Encoding", b"chunked"))
        payload = b"5\r\nhello\r\n0\r\n\r\n"
    s = connect(plain.port)
    s.sendall(b"POST " + tag + b" HTTP/" + version + b"\r\n"
              + b"".join(n + b": " + v + b"\r\n" for n, v in headers) + b"\r\n" + payload)
    r = read_responses(s)[0]
    assert r.status == 200
    m = v1.complete(tag)[-1]
    assert m.headers == _expected(headers, host=b"shop.example.com")
    # the client gets the upstream's headers once each, minus hop-by-hop (none of ours added)
    names = [n.lower() for n, _ in r.headers]
    assert names.count(b"date") == 1 and names.count(b"server") == 1
    assert r.header(b"server") == [b"upstream/1"] and r.header(b"set-cookie") == [b"a=1", b"b=2"]
    assert not {b"x-hop", b"keep-alive"} & set(names)
    if version == b"1.1":
        assert not r.header(b"connection") and r.header(b"x-internal") == [b"secret"]
    # a second request on the same HTTP/1.1 connection: keep-alive works
    if version == b"1.1":
        s.sendall(b"GET " + tag + b"/again HTTP/1.1\r\nHost: h\r\n\r\n")
        assert read_responses(s)[0].status == 200


def test_no_library_default_headers_reach_the_upstream(rig):
    plain, _, v1 = rig
    _, m = exchange(plain.port, v1, b"GET /bare HTTP/1.1\r\nHost: h\r\n\r\n")
    sent = (b"GET /bare HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 127.0.0.1\r\n"
            b"x-forwarded-proto: http\r\nx-forwarded-host: h\r\n\r\n")
    # the whole message, first on its upstream connection or after an earlier one (the pool
    # reuses connections, so which it is depends on the tests run before this one)
    assert m.raw == sent or m.raw.endswith(b"\r\n\r\n" + sent)


def test_route_changes_and_connection_cannot_remove_route_headers(rig):
    plain, _, v1 = rig
    r, m = exchange(plain.port, v1, b"GET /routed HTTP/1.1\r\nHost: h\r\n"
                                    b"Connection: keep-alive, x-routed, host, content-length\r\n"
                                    b"x-drop: 1\r\nx-keep: 2\r\n\r\n")
    assert m.headers == [(b"Host", b"h"), (b"x-keep", b"2"), (b"x-routed", b"public"),
                         (b"x-forwarded-for", b"127.0.0.1"), (b"x-forwarded-proto", b"http"),
                         (b"x-forwarded-host", b"h")]
    assert r.header(b"x-resp") == [b"yes"] and not r.header(b"x-internal")


def test_rewritten_host_replaces_host_in_place(rig):
    plain, _, v1 = rig
    _, m = exchange(plain.port, v1, b"GET /rewrite HTTP/1.1\r\nAccept: x\r\nHost: shop\r\n"
                                    b"User-Agent: u\r\n\r\n")
    assert m.headers[:3] == [(b"Accept", b"x"), (b"Host", b"api.internal"), (b"User-Agent", b"u")]
    assert m.header(b"x-forwarded-host") == [b"shop"]


def test_forwarded_headers_from_an_untrusted_client_are_replaced(rig):
    plain, _, v1 = rig
    _, m = exchange(plain.port, v1, b"GET /spoof HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.1.2.3\r\n"
                                    b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
                                    b"Forwarded: for=1.1.1.1\r\n\r\n")
    assert m.header(b"x-forwarded-for") == [b"127.0.0.1"]
    assert m.header(b"x-forwarded-proto") == [b"http"] and m.header(b"x-forwarded-host") == [b"h"]
    assert not m.header(b"forwarded")
    assert wait_until(lambda: any(line.startswith('127.0.0.1 "GET /spoof')
                                  for line in plain.access_lines()))


def test_trusted_proxy_chain_is_kept_and_extended(rig):
    _, trusting, v1 = rig
    _, m = exchange(trusting.port, v1, b"GET /trusted HTTP/1.1\r\nHost: h\r\n"
                                       b"X-Forwarded-For: 203.0.113.9, 10.0.0.5\r\n"
                                       b"X-Forwarded-For: 10.0.0.6\r\nX-Forwarded-Proto: https\r\n"
                                       b"X-Forwarded-Host: shop\r\n\r\n")
    assert m.header(b"x-forwarded-for") == [b"203.0.113.9, 10.0.0.5, 10.0.0.6, 127.0.0.1"]
    assert m.header(b"x-forwarded-proto") == [b"https"] and m.header(b"x-forwarded-host") == [b"shop"]
    # the client address of the access log: the right-most address that is not a trusted proxy
    assert wait_until(lambda: any(line.startswith('203.0.113.9 "GET /trusted')
                                  for line in trusting.access_lines()))


def test_trusted_proxy_scheme_makes_redirects_https(rig):
    _, trusting, _ = rig
    s = connect(trusting.port)
    s.sendall(b"GET /old/x HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-Proto: https\r\n\r\n")
    r = read_responses(s)[0]
    # (the listener's port stays in the Location: the redirect sets no scheme, Gateway API 5.2)
    assert r.status == 301 and r.header(b"location")[0].startswith(b"https://shop.example.com")


def test_pairs_are_exact_in_case_and_duplicates():
    # the expectation helper itself: duplicates and case survive, XF and hop-by-hop go
    got = _expected([(b"A", b"1"), (b"a", b"2"), (b"Connection", b"x"), (b"X", b"y")], host=b"h")
    assert got[:2] == [(b"A", b"1"), (b"a", b"2")] and (b"X", b"y") not in got
    assert list(itertools.chain(*got[-3:]))[::2] == [b"x-forwarded-for", b"x-forwarded-proto",
                                                     b"x-forwarded-host"]
