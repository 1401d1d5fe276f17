"""Issue 10, findings 10-12: timeouts and limits with their status codes, `--watch` refusing a
configuration without the served Gateway, one access-log line per request and no traceback for
a client's or an upstream's fault."""
import os
import socket
import time

import pytest

from test_proxy_rig import (CONFIG, Recorder, Serve, closed_by_peer, connect, ok, read_responses,
                            wait_until, write_config)


def respond(msg):
    if msg.target.startswith(b"/hang"):
        return None
    if msg.target.startswith(b"/drop"):  # the connection closes with no byte of a response
        raise ConnectionAbortedError("dropped")
    return ok(msg)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    v1 = Recorder(respond)
    path = write_config(tmp_path_factory.mktemp("limits"))
    proxy = Serve(path, {"shop/v1:80": v1.url}, "--header-timeout", "1", "--body-timeout", "1",
                  "--upstream-timeout", "1", "--keepalive-timeout", "2")
    yield proxy, v1
    proxy.stop()
    v1.close()


def test_slowloris_connections_are_closed_at_the_header_timeout(rig):
    proxy, _ = rig
    socks = [connect(proxy.port) for _ in range(20)]
    t0 = time.monotonic()
    for s in socks:
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n")
    for _ in range(4):  # one header line every 0.4 s: never done
        time.sleep(0.4)
        for s in socks:
            try:
                s.sendall(b"X-A: b\r\n")
            except OSError:
                pass
    for s in socks:
        r = read_responses(s, timeout=5)
        assert r and r[0].status == 408
        assert closed_by_peer(s)
    assert time.monotonic() - t0 < 5


def test_idle_keepalive_connection_is_closed(rig):
    proxy, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_responses(s)[0].status == 200
    t0 = time.monotonic()
    assert closed_by_peer(s, timeout=6) and 1.5 < time.monotonic() - t0 < 5


def test_deadlines_move_with_the_requests_of_a_keepalive_connection(rig):
    """The header timeout of a second request counts from that request, not from the first one
    (a connection moves one deadline per request, the armed timer checks it again)."""
    proxy, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_responses(s)[0].status == 200
    time.sleep(0.7)
    t1 = time.monotonic()
    s.sendall(b"GET /second HTTP/1.1\r\nHost: a\r\n")  # a head that never ends
    r = read_responses(s, timeout=5)
    assert r and r[0].status == 408 and 0.9 < time.monotonic() - t1 < 2.5


def test_upstream_timeout_counts_from_each_request_on_a_pooled_connection(rig):
    """The upstream deadline of a request on a reused upstream connection counts from that
    request (the timer armed for the connection's previous exchange checks again); the streamed
    body makes it a request that is never retried."""
    proxy, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_responses(s)[0].status == 200
    time.sleep(0.6)  # the first exchange's upstream deadline would fall 0.4 s into the next
    t1 = time.monotonic()
    s.sendall(b"POST /hang-pooled HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    r = read_responses(s, timeout=5)
    assert r[0].status == 504 and 0.9 < time.monotonic() - t1 < 2.5


def _warm(proxy):
    """One answered request, so that the next one finds a pooled (reused) upstream connection."""
    s = connect(proxy.port)
    s.sendall(b"GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_responses(s)[0].status == 200
    return s


def _received(upstream, target):
    return [m for m in upstream.messages if m.target == target]


def test_a_hung_upstream_is_never_asked_twice(rig):
    """A timeout is not a closed pooled connection: the upstream may be working on the request,
    so it is not sent again (504 after one upstream timeout, one copy upstream)."""
    proxy, v1 = rig
    s = _warm(proxy)
    t1 = time.monotonic()
    s.sendall(b"GET /hang-get-pooled HTTP/1.1\r\nHost: a\r\n\r\n")
    r = read_responses(s, timeout=5)
    assert r[0].status == 504 and 0.9 < time.monotonic() - t1 < 1.8
    assert len(_received(v1, b"/hang-get-pooled")) == 1


@pytest.mark.parametrize("method, extra, copies", [
    (b"GET", b"", 2),                            # idempotent: once more on a new connection
    (b"DELETE", b"", 2),
    (b"POST", b"Content-Length: 0\r\n", 1),     # not idempotent: never twice
    (b"PATCH", b"Content-Length: 0\r\n", 1),
    (b"POST", b"Content-Length: 0\r\nIdempotency-Key: k1\r\n", 2),  # marked safe by the client
])
def test_a_pooled_connection_closed_with_no_answer_resends_only_what_is_safe_twice(
        rig, method, extra, copies):
    proxy, v1 = rig
    s = _warm(proxy)
    target = b"/drop-" + method.lower() + b"-" + str(len(extra)).encode()
    s.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n")
    r = read_responses(s, timeout=5)
    assert r[0].status == 502
    assert wait_until(lambda: len(_received(v1, target)) >= copies)
    time.sleep(0.2)
    assert len(_received(v1, target)) == copies


def test_stalled_body_gets_408_and_upstream_reset(rig):
    proxy, v1 = rig
    s = connect(proxy.port)
    s.sendall(b"POST /stall HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    r = read_responses(s, timeout=5)
    assert r and r[0].status == 408
    assert not v1.complete(b"/stall")


def test_hung_upstream_gets_504_at_the_default_upstream_timeout(rig):
    proxy, _ = rig
    s = connect(proxy.port)
    t0 = time.monotonic()
    s.sendall(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
    r = read_responses(s, timeout=5)
    assert r[0].status == 504 and time.monotonic() - t0 < 3
    assert wait_until(lambda: any("/hang" in line and 'error="upstream timeout"' in line
                                  for line in proxy.access_lines()))


def _settled_lines(proxy):
    """The number of access lines once earlier tests' lines have all arrived (a line is written
    when its exchange ends, which can come after its client saw the response)."""
    count = -1
    while count != len(proxy.access_lines()):
        count = len(proxy.access_lines())
        time.sleep(0.3)
    return count


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET /big-header HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    (b"GET /many HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    (b"GET /empty-host HTTP/1.1\r\nHost: \r\n\r\n", 400),
    (b"GET /no-host HTTP/1.1\r\n\r\n", 400),
    (b"GET /two-hosts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
])
def test_limits_and_bad_requests_get_their_status_a_log_line_and_no_traceback(rig, request_bytes, status):
    proxy, _ = rig
    before = _settled_lines(proxy)
    s = connect(proxy.port)
    try:
        s.sendall(request_bytes)
    except OSError:
        pass
    r = read_responses(s)
    assert r and r[0].status == status
    assert closed_by_peer(s)
    assert wait_until(lambda: len(proxy.access_lines()) == before + 1)
    assert f'" {status} ' in proxy.access_lines()[-1]
    assert "Traceback" not in proxy.output()


def test_http10_redirect_without_host_never_gives_an_empty_authority(rig):
    proxy, _ = rig
    s = connect(proxy.port)
    s.sendall(b"GET /old/page HTTP/1.0\r\n\r\n")
    r = read_responses(s)[0]
    assert r.status == 400 and not r.header(b"location")


def test_upstream_reset_mid_body_cuts_the_client_and_logs_one_line(tmp_path):
    class Cutting(Recorder):
        def _serve(self, conn):  # half a response, then RST
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"r" * 1000)
            time.sleep(0.2)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()

    v1 = Cutting()
    proxy = Serve(write_config(tmp_path), {"shop/v1:80": v1.url})
    try:
        s = connect(proxy.port)
        s.sendall(b"GET /cut HTTP/1.1\r\nHost: a\r\n\r\n")
        r = read_responses(s)
        assert not r or not r[0].complete  # never a complete response
        assert wait_until(lambda: len(proxy.access_lines()) == 1)
        assert 'error="upstream reset"' in proxy.access_lines()[0]
    finally:
        out = proxy.stop()
        v1.close()
    assert "Traceback" not in out


def test_every_request_exactly_one_access_line(rig):
    """Ten requests on one connection and an eleventh whose body never arrives: one access line
    each. The rig is shared by the module, so a line of an earlier test can still be written
    after this test starts (a timeout firing late): only this test's requests are counted."""
    proxy, _ = rig
    expected = sorted([f"GET /count/{i} HTTP/1.1" for i in range(10)] + ["GET /nothing-here HTTP/1.1"])

    def mine():
        return [line for line in proxy.access_lines()
                if line.split('"')[1] in expected]

    assert mine() == []
    s = connect(proxy.port)
    s.sendall(b"".join(b"GET /count/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(10)))
    assert len(read_responses(s, 10)) == 10
    s.sendall(b"GET /nothing-here HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n")  # body missing
    s.close()
    assert wait_until(lambda: len(mine()) >= 11)
    time.sleep(0.3)  # a second line for any of them would be written by now
    lines = mine()
    assert sorted(line.split('"')[1] for line in lines) == expected
    first = lines[0]
    assert first.startswith('127.0.0.1 "GET /count/0 HTTP/1.1" 200 host=a route=shop/app rule=')
    assert " backend=shop/v1:80 bytes=11 upstream_ms=" in first and " duration_ms=" in first


def test_watch_refuses_a_config_without_the_served_gateway(tmp_path):
    v1 = Recorder()
    path = write_config(tmp_path)
    proxy = Serve(path, {"shop/v1:80": v1.url}, "--watch")
    try:
        s = connect(proxy.port)
        s.sendall(b"GET /w1 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_responses(s)[0].status == 200
        tmp = tmp_path / "new.yaml"
        tmp.write_text(CONFIG.replace("name: gw, namespace: infra}\nspec:\n  gatewayClassName",
                                      "name: other, namespace: infra}\nspec:\n  gatewayClassName"))
        os.replace(tmp, path)
        assert wait_until(lambda: "configuration refused" in proxy.output(), timeout=15)
        for i in range(5):
            s.sendall(b"GET /w2 HTTP/1.1\r\nHost: a\r\n\r\n")
            assert read_responses(s)[0].status == 200
    finally:
        out = proxy.stop()
        v1.close()
    assert "Gateway infra/gw" in out or "infra/gw" in out


def test_observer_hooks_in_process():
    """serve()'s hooks: observers get one Exchange per request, on_startup runs first, a failing
    observer is logged once and does not break serving."""
    import asyncio

    from routecore import Router
    from routecore._serve.proxy import Proxy, run

    v1 = Recorder()
    seen, started = [], []

    def broken(ex):
        raise RuntimeError("observer bug")

    router = Router.from_source(CONFIG_DOCS())
    proxy = Proxy(router, lambda r: r.gateway("gw", "infra", 80), {"shop/v1:80": v1.url},
                  observers=[seen.append, broken])

    async def startup():
        started.append(True)

    async def main():
        stop = asyncio.Event()
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(run(proxy, "127.0.0.1", 0, on_startup=[startup], stop=stop,
                                         ready=ready.set_result))
        server = await ready
        port = server.sockets[0].getsockname()[1]
        for i in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /hook/%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % i)
            await reader.read()
            writer.close()
        stop.set()
        await task

    asyncio.run(main())
    v1.close()
    assert started == [True]
    assert [(e.method, e.target, e.status, e.route, e.backend) for e in seen] == [
        ("GET", f"/hook/{i}", 200, "shop/app", "shop/v1:80") for i in range(3)]
    assert all(e.upstream_seconds is not None and e.duration > 0 and e.error is None for e in seen)


def CONFIG_DOCS():
    import yaml

    return list(yaml.safe_load_all(CONFIG))


def test_on_reload_hook_reports_refusals_and_generations(tmp_path):
    import asyncio

    from routecore import Router
    from routecore._serve.proxy import Proxy, run

    path = write_config(tmp_path)
    reloads = []
    router = Router.from_source(str(path))
    proxy = Proxy(router, lambda r: r.gateway("gw", "infra", 80), {}, observers=(),
                  on_reload=lambda ok_, gen, err: reloads.append((ok_, gen, err)))

    def replace(text):
        tmp = tmp_path / "next.yaml"
        tmp.write_text(text)
        os.replace(tmp, path)

    async def main():
        stop = asyncio.Event()
        task = asyncio.ensure_future(run(proxy, "127.0.0.1", 0, watch_path=str(path), stop=stop))
        for text, count in ((CONFIG.replace("name: gw,", "name: other,"), 1),
                            (CONFIG.replace("/retry", "/again"), 2)):
            await asyncio.sleep(0.6)  # a new mtime
            replace(text)
            end = time.monotonic() + 15
            while len(reloads) < count and time.monotonic() < end:
                await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(main())
    assert len(reloads) == 2
    (ok1, gen1, err1), (ok2, gen2, err2) = reloads
    assert not ok1 and gen1 == 0 and "infra" in err1 and "gw" in err1
    assert ok2 and gen2 == 1 and err2 is None
    assert proxy.view.route("GET", "/again", [("host", "a")]).rule == 0
