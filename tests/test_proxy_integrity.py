"""Issue 10, findings 1-3 and 9: no body that did not arrive whole reaches an upstream as a whole
request, bodies keep their framing, replay buffering is capped, bad framing is refused."""
import time

import pytest

from test_proxy_rig import (Recorder, Serve, closed_by_peer, connect, exchange, ok, read_responses,
                            wait_until, write_config)


def respond(msg):
    if msg.target.startswith(b"/retry/503"):
        return ok(msg, 503)
    if msg.target.startswith(b"/chunked-response"):
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    if msg.target.startswith(b"/head-cl"):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    if msg.target.startswith(b"/no-content"):
        return b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    if msg.target.startswith(b"/not-modified"):
        return b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
    if msg.target.startswith(b"/early-hints"):
        return (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                + ok(msg))
    return ok(msg)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    v1, m1 = Recorder(respond), Recorder(respond)
    path = write_config(tmp_path_factory.mktemp("integrity"))
    proxy = Serve(path, {"shop/v1:80": v1.url, "shop/m1:80": m1.url},
                  "--max-buffered-body", "65536")
    yield proxy, v1, m1
    proxy.stop()
    v1.close()
    m1.close()


def _abandon(port, data):
    s = connect(port)
    s.sendall(data)
    time.sleep(0.3)
    s.close()


def _upstream_cut(v1, prefix):
    """The upstream got a message for ``prefix`` and it never completed: its connection ended
    with a reset."""
    assert wait_until(lambda: any(m.target.startswith(prefix) for m in v1.messages))
    assert not v1.complete(prefix), "an abandoned body reached the upstream as a whole request"
    assert wait_until(lambda: all(c["end"] is not None for c in v1.connections))
    return True


@pytest.mark.parametrize("path", [b"/plain/cl", b"/retry/cl", b"/mirror/cl"])
def test_client_abandons_content_length_body(rig, path):
    proxy, v1, m1 = rig
    _abandon(proxy.port, b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
             + b"x" * 50000)
    time.sleep(0.5)
    assert not v1.complete(path) and not m1.complete(path)
    if path == b"/plain/cl":  # streamed: the upstream saw the start, then a reset
        _upstream_cut(v1, path)
    assert wait_until(lambda: any(path.decode() in line and 'error="client aborted body"' in line
                                  for line in proxy.access_lines()))


@pytest.mark.parametrize("path", [b"/plain/chunked", b"/retry/chunked", b"/mirror/chunked"])
def test_client_abandons_chunked_body(rig, path):
    proxy, v1, m1 = rig
    body = b"".join(b"%x\r\n%s\r\n" % (100, b"y" * 100) for _ in range(11)) + b"18\r\n" + b"z" * 24
    _abandon(proxy.port, b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             + body)
    time.sleep(0.5)
    assert not v1.complete(path) and not m1.complete(path)
    if path == b"/plain/chunked":
        _upstream_cut(v1, path)


@pytest.mark.parametrize("bad", [b"zz\r\n", b"FFFFFFFFFFFFFFFFF1\r\nabcdefgh\r\n0\r\n\r\n",
                                 b"5\r\nhelloXX0\r\n\r\n"])
@pytest.mark.parametrize("prefix", [b"/plain", b"/retry"])
def test_bad_chunk_gets_400_and_never_a_whole_request(rig, bad, prefix):
    proxy, v1, _ = rig
    path = prefix + b"/badchunk/%d" % abs(hash(bad))
    s = connect(proxy.port)
    s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"3\r\nabc\r\n")
    time.sleep(0.3)
    s.sendall(bad)
    replies = read_responses(s)
    assert replies and replies[0].status == 400
    assert closed_by_peer(s)
    s.close()
    time.sleep(0.3)
    assert not v1.complete(path)


def test_content_length_body_keeps_its_framing(rig):
    proxy, v1, _ = rig
    r, m = exchange(proxy.port, v1, b"POST /frame/cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    assert r.status == 200
    assert m.header(b"content-length") == [b"5"] and not m.header(b"transfer-encoding")
    assert m.body == b"hello" and m.raw.endswith(b"\r\n\r\nhello")


def test_chunked_body_stays_chunked(rig):
    proxy, v1, _ = rig
    r, m = exchange(proxy.port, v1, b"POST /frame/chunked HTTP/1.1\r\nHost: a\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert r.status == 200
    assert m.header(b"transfer-encoding") == [b"chunked"] and not m.header(b"content-length")
    assert m.body == b"hello"


def test_no_body_no_body_headers(rig):
    proxy, v1, _ = rig
    r, m = exchange(proxy.port, v1, b"POST /frame/none HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200
    assert not m.header(b"content-length") and not m.header(b"transfer-encoding")


def test_response_framing_to_http11_and_http10_clients(rig):
    proxy, *_ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /chunked-response HTTP/1.1\r\nHost: a\r\n\r\n")
    r = read_responses(s)[0]
    assert r.header(b"transfer-encoding") == [b"chunked"] and r.body == b"hello world"
    s.sendall(b"GET /frame/cl-response HTTP/1.1\r\nHost: a\r\n\r\n")  # same connection: kept alive
    r = read_responses(s)[0]
    assert r.header(b"content-length") == [b"%d" % len(r.body)]
    s.close()
    s = connect(proxy.port)
    s.sendall(b"GET /chunked-response HTTP/1.0\r\nHost: a\r\n\r\n")
    r = read_responses(s)[0]
    assert not r.header(b"transfer-encoding") and r.body == b"hello world"
    assert closed_by_peer(s)


def test_head_204_304_have_no_body_and_keep_the_connection(rig):
    proxy, *_ = rig
    s = connect(proxy.port)
    s.sendall(b"HEAD /head-cl HTTP/1.1\r\nHost: a\r\n\r\n")
    r = read_responses(s, head_request=True)[0]
    assert r.status == 200 and r.header(b"content-length") == [b"1234"]
    for path, status in ((b"/no-content", 204), (b"/not-modified", 304)):
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        r = read_responses(s)[0]
        assert r.status == status and r.body == b""
    s.sendall(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_responses(s)[0].body == b"ok /after"


def test_interim_103_is_forwarded_and_100_continue_answered_by_the_proxy(rig):
    proxy, v1, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /early-hints HTTP/1.1\r\nHost: a\r\n\r\n")
    r = read_responses(s)[0]
    assert [i.status for i in r.interim] == [103] and r.status == 200
    # the interim's headers go with it, never into the final response's list
    assert r.interim[0].header(b"link") == [b"</s.css>; rel=preload"] and not r.header(b"link")
    s.sendall(b"POST /continue HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    s.settimeout(5)
    assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.sendall(b"hello")
    assert read_responses(s)[0].status == 200
    m = v1.complete(b"/continue")[-1]
    assert m.body == b"hello" and not m.header(b"expect")


def test_buffer_cap_no_retry_no_mirror_past_it(rig):
    proxy, v1, m1 = rig
    s = connect(proxy.port)
    big = b"q" * 70000  # over the 64 KiB cap of this proxy
    s.sendall(b"POST /retry/503/big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
    assert read_responses(s)[0].status == 503
    assert len(v1.complete(b"/retry/503/big")) == 1  # no retry
    s.sendall(b"POST /retry/503/small HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    assert read_responses(s)[0].status == 503
    assert len(v1.complete(b"/retry/503/small")) == 3  # retried twice
    s.sendall(b"POST /mirror/big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n")
    assert read_responses(s)[0].status == 200
    s.sendall(b"POST /mirror/small HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    assert read_responses(s)[0].status == 200
    assert wait_until(lambda: m1.complete(b"/mirror/small"))
    assert not m1.complete(b"/mirror/big") and v1.complete(b"/mirror/big")[-1].body == big


def test_50_mib_post_on_a_retry_route_streams_in_bounded_memory(tmp_path):
    v1 = Recorder()
    proxy = Serve(write_config(tmp_path), {"shop/v1:80": v1.url})
    try:
        base = proxy.rss_peak_kib()
        s = connect(proxy.port, timeout=60)
        size = 50 << 20
        s.sendall(b"POST /retry/huge HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"h" * (1 << 20)
        for _ in range(50):
            s.sendall(chunk)
        assert read_responses(s, timeout=60)[0].status == 200
        growth = proxy.rss_peak_kib() - base
        assert growth < 16 * 1024, f"proxy peak RSS grew by {growth} KiB for a 50 MiB body"
        assert len(v1.complete(b"/retry/huge")[-1].body) == size
    finally:
        proxy.stop()
        v1.close()


@pytest.mark.parametrize("head", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Content-Length: 5x\r\n",
    b"X-Folded: a\r\n b\r\nContent-Length: 5\r\n",
    b"Content-Length : 5\r\n",
])
def test_ambiguous_framing_gets_400_close_and_pipelined_request_never_runs(rig, head):
    proxy, v1, _ = rig
    tag = b"%d" % abs(hash(head))
    s = connect(proxy.port)
    s.sendall(b"POST /smuggle/" + tag + b" HTTP/1.1\r\nHost: a\r\n" + head + b"\r\n"
              b"5\r\nhello\r\n0\r\n\r\nGET /smuggled/" + tag + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    replies = read_responses(s, 2)
    assert [r.status for r in replies] == [400]
    assert closed_by_peer(s)
    time.sleep(0.3)
    assert not any(tag in m.target for m in v1.messages)


def test_bad_request_pipelined_behind_a_good_one_gets_its_400_in_turn(rig):
    proxy, v1, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /first-good HTTP/1.1\r\nHost: a\r\n\r\n"
              b"POST /second-bad HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
              b"GET /third-never HTTP/1.1\r\nHost: a\r\n\r\n")
    replies = read_responses(s, 3)
    assert [r.status for r in replies] == [200, 400]
    assert closed_by_peer(s)
    assert not v1.complete(b"/second-bad") and not v1.complete(b"/third-never")
    assert wait_until(lambda: any('"POST /second-bad HTTP/1.1" 400' in line
                                  for line in proxy.access_lines()))


def test_pipelined_requests_answered_in_order(rig):
    proxy, *_ = rig
    s = connect(proxy.port)
    s.sendall(b"".join(b"GET /pipe/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(5))
              + b"POST /pipe/5 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
              + b"GET /pipe/6 HTTP/1.1\r\nHost: a\r\n\r\n")
    replies = read_responses(s, 7)
    assert [r.body for r in replies] == [b"ok /pipe/%d" % i for i in range(7)]
