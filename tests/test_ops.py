"""Operating `routecore serve`: access log, logging set-up, start-up/reload lines, upstream
warnings (routecore._serve.ops), Prometheus metrics and the admin listener (routecore._serve.admin), each on
real inputs: exchanges as the proxy engine reports them, real configurations, a real HTTP client
and raw sockets over 127.0.0.1."""
import asyncio
import io
import json
import logging
import os
import re
import socket
import threading
import time
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import given, strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families)
from prometheus_client.parser import text_string_to_metric_families

from routecore import Router, load
from routecore._serve.admin import Metrics, error_reason, start_admin
from routecore._serve.ops import (AccessLog, configure_logging, log_reload, parse_level, reload_line,
                            startup_line, upstream_warnings, utc_timestamp)

from builders import documents, gateway_yaml, httproute_yaml, listener_yaml

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
T0 = 1796050200.1234  # 2026-11-30T14:50:00.123Z


def exchange(**kw):
    base = dict(time=T0, client="10.1.2.3", method="GET", target="/api/items?x=1", version="1.1",
                host="shop.example.com", status=200, route="store/shop", rule=1,
                backend="store/api:8080", bytes_received=0, bytes_sent=512,
                upstream_seconds=0.0123, duration=0.0150, error=None)
    base.update(kw)
    return SimpleNamespace(**base)


# --- access log: text ----------------------------------------------------------------------------

def test_access_records_are_the_standard_records_of_their_thread():
    """AccessLog makes its records from a template (not the stack-walking Logger.info): each is
    the record Logger.makeRecord makes, with its own message and time, and its own thread's."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("routecore.test.access-records")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(Keep())
    access = AccessLog(logger=logger)
    access(exchange())
    time.sleep(0.002)
    access(exchange(target="/second"))  # from the template
    other = threading.Thread(target=access, args=(exchange(target="/thread"),), name="other-one")
    other.start()
    other.join()
    access(exchange(target="/again"))
    standard = logger.makeRecord(logger.name, logging.INFO, "", 0, "-", None, None).__dict__
    own = {"msg", "created", "msecs", "relativeCreated", "thread", "threadName"}
    for record, target in zip(records, ["/api/items?x=1", "/second", "/thread", "/again"]):
        assert type(record) is logging.LogRecord
        assert record.getMessage() == AccessLog.text_line(exchange(target=target))
        assert {k: v for k, v in record.__dict__.items() if k not in own} == \
            {k: v for k, v in standard.items() if k not in own}
        assert record.msecs == int((record.created - int(record.created)) * 1000)
        assert record.relativeCreated == pytest.approx(
            standard["relativeCreated"] - (standard["created"] - record.created) * 1000, abs=0.01)
    assert [r.thread for r in records] == [threading.get_ident(), threading.get_ident(),
                                           other.ident, threading.get_ident()]
    assert [r.threadName for r in records][2] == "other-one"
    assert records[0].created < records[1].created <= records[3].created


def test_text_line_exact():
    assert AccessLog.text_line(exchange()) == (
        '10.1.2.3 "GET /api/items?x=1 HTTP/1.1" 200 host=shop.example.com route=store/shop rule=1 '
        'backend=store/api:8080 bytes=512 upstream_ms=12.3 duration_ms=15.0')


def test_text_line_unrouted_and_error():
    x = exchange(status=0, host=None, route=None, rule=None, backend=None, upstream_seconds=None,
                 bytes_sent=0, duration=0.25, version="1.0", method="POST", target="/up",
                 error="client_abort: body cut at 50000 of 100000 bytes")
    assert AccessLog.text_line(x) == (
        '10.1.2.3 "POST /up HTTP/1.0" 0 host=- route=- rule=- backend=- bytes=0 upstream_ms=- '
        'duration_ms=250.0 error="client_abort: body cut at 50000 of 100000 bytes"')


def test_text_line_rule_zero_is_not_absent():
    assert " rule=0 " in AccessLog.text_line(exchange(rule=0))


def test_text_line_escapes_what_a_client_sends():
    x = exchange(target='/a"b\\c\r\n10.0.0.1 "GET / HTTP/1.1" 200\x00\x7f\xe9\u2028',
                 host="evil.com route=x/y", error='upstream said "no"\nnext')
    line = AccessLog.text_line(x)
    assert line == (
        '10.1.2.3 "GET /a\\"b\\\\c\\x0d\\x0a10.0.0.1\\x20\\"GET\\x20/\\x20HTTP/1.1\\"\\x20200'
        '\\x00\\x7f\\xe9\\u2028'
        ' HTTP/1.1" 200 host=evil.com\\x20route=x/y route=store/shop rule=1 backend=store/api:8080'
        ' bytes=512 upstream_ms=12.3 duration_ms=15.0 error="upstream said \\"no\\"\\x0anext"')
    assert line.count(" route=") == 1 and line.count(" host=") == 1


_ESC = re.compile(r'\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|["\\])')


def _unescape(text):
    return _ESC.sub(lambda m: m.group(1) if len(m.group(1)) == 1 else chr(int(m.group(1)[1:], 16)),
                    text)


_LINE = re.compile(r'^(\S+) "(\S+) (\S*) HTTP/(\S+)" (\d+) host=(\S+) route=(\S+) '
                   r'rule=(\S+) backend=(\S+) bytes=(\d+) upstream_ms=(\S+) duration_ms=(\S+)'
                   r'(?: error="((?:[^"\\]|\\.)*)")?$')


@given(target=st.text(), host=st.text(min_size=1), error=st.none() | st.text(),
       method=st.text(min_size=1))
def test_text_line_is_one_ascii_line_that_gives_back_every_field(target, host, error, method):
    line = AccessLog.text_line(exchange(target=target, host=host, error=error, method=method))
    assert all(0x20 <= ord(c) < 0x7f for c in line)
    m = _LINE.match(line)
    assert m is not None, line
    assert _unescape(m.group(2)) == method and _unescape(m.group(3)) == target
    assert _unescape(m.group(6)) == host
    assert (m.group(13) is None) == (error is None)
    if error is not None:
        assert _unescape(m.group(13)) == error


# --- access log: JSON ----------------------------------------------------------------------------

def test_json_line_fields():
    line = AccessLog.json_line(exchange(bytes_received=42))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-11-30T14:50:00.123Z", "client": "10.1.2.3", "method": "GET",
        "target": "/api/items?x=1", "protocol": "HTTP/1.1", "status": 200,
        "host": "shop.example.com", "route": "store/shop", "rule": 1, "backend": "store/api:8080",
        "bytes_received": 42, "bytes_sent": 512, "upstream_ms": 12.3, "duration_ms": 15.0,
        "error": None}
    assert list(json.loads(line)) == ["time", "client", "method", "target", "protocol", "status",
                                      "host", "route", "rule", "backend", "bytes_received",
                                      "bytes_sent", "upstream_ms", "duration_ms", "error"]


@given(target=st.text(), host=st.none() | st.text(), error=st.none() | st.text())
def test_json_line_is_one_ascii_line_with_the_exact_values(target, host, error):
    line = AccessLog.json_line(exchange(target=target, host=host, error=error, route=None,
                                        rule=None, backend=None, upstream_seconds=None))
    assert all(0x20 <= ord(c) < 0x7f for c in line)
    record = json.loads(line)
    assert (record["target"], record["host"], record["error"]) == (target, host, error)
    assert record["route"] is record["backend"] is record["upstream_ms"] is None


def test_utc_timestamp():
    assert utc_timestamp(T0) == "2026-11-30T14:50:00.123Z"
    assert utc_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert utc_timestamp(59.9999) == "1970-01-01T00:00:59.999Z"  # truncated, never "60.000"


# --- logging set-up ------------------------------------------------------------------------------

@pytest.fixture
def restore_logging():
    root, access = logging.getLogger(), logging.getLogger("routecore.access")
    saved = (root.level, list(root.handlers), access.propagate, list(access.handlers))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    access.propagate = saved[2]
    access.handlers[:] = saved[3]


_PREFIX = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.mark.parametrize("kind", ["buffered", "line-buffered", "write-through"])
def test_each_log_line_reaches_the_file_at_once(restore_logging, tmp_path, kind):
    """The handler flushes only a stream that would not write the line out by itself."""
    path = tmp_path / "log"
    raw = open(path, "wb", buffering=0)
    stream = (io.TextIOWrapper(io.BufferedWriter(raw)) if kind == "buffered" else
              io.TextIOWrapper(io.BufferedWriter(raw), line_buffering=True)
              if kind == "line-buffered" else io.TextIOWrapper(raw, write_through=True))
    configure_logging("info", "text", stream=stream)
    for n in range(3):
        AccessLog("text")(exchange(target=f"/{n}"))
        assert path.read_text().endswith(f" /{n} HTTP/1.1\" 200 host=shop.example.com "
                                         "route=store/shop rule=1 backend=store/api:8080 "
                                         "bytes=512 upstream_ms=12.3 duration_ms=15.0\n")
    raw.close()


def test_text_logging_prefixes_every_line(restore_logging):
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    AccessLog("text")(exchange())
    logging.getLogger("routecore.serve").warning("upstream %s failed", "store/api:8080")
    logging.getLogger("routecore.serve").debug("not shown at info")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(_PREFIX + " INFO routecore.access "
                        + re.escape(AccessLog.text_line(exchange())), lines[0])
    assert re.fullmatch(_PREFIX + " WARNING routecore.serve upstream store/api:8080 failed", lines[1])


def test_json_logging_access_lines_are_bare(restore_logging):
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    configure_logging("debug", "json", stream=out)  # a second call replaces, never doubles
    AccessLog("json")(exchange())
    logging.getLogger("routecore.serve").info("reloaded")
    lines = out.getvalue().splitlines()
    assert lines[0] == AccessLog.json_line(exchange())
    assert re.fullmatch(_PREFIX + " INFO routecore.serve reloaded", lines[1])
    assert len(lines) == 2


def test_log_level_warning_silences_the_access_log(restore_logging):
    out = io.StringIO()
    configure_logging("warning", stream=out)
    AccessLog()(exchange())
    assert out.getvalue() == ""


def test_unknown_log_level_and_format():
    assert parse_level("Warn") == logging.WARNING and parse_level(" debug ") == logging.DEBUG
    with pytest.raises(ValueError, match=r"unknown log level 'verbose': choose one of debug, "
                                         r"info, warning, error, critical"):
        configure_logging("verbose")
    with pytest.raises(ValueError, match="log format must be one of text, json, got 'xml'"):
        configure_logging("info", "xml")
    with pytest.raises(ValueError, match="access log format"):
        AccessLog("xml")


# --- start-up and reload lines -------------------------------------------------------------------

def test_startup_line():
    assert startup_line(version="0.9.0", native=True, listeners=["127.0.0.1:8080", "[::1]:8080"],
                        upstreams={"store/api:8080": "http://127.0.0.1:9001",
                                   "store/api-canary:8080": "http://127.0.0.1:9002"},
                        generation=0, source="examples/edge.yaml") == (
        "routecore 0.9.0 serving: core=native listen=127.0.0.1:8080,[::1]:8080 "
        "config=examples/edge.yaml generation=0 upstreams=store/api-canary:8080="
        "http://127.0.0.1:9002,store/api:8080=http://127.0.0.1:9001")
    assert startup_line(version="0.9.0", native=False, listeners=["0.0.0.0:80"], upstreams={},
                        generation=3, source="/etc/my routes") == (
        "routecore 0.9.0 serving: core=pure listen=0.0.0.0:80 config=/etc/my\\x20routes "
        "generation=3 upstreams=-")


def test_reload_lines(caplog):
    assert reload_line(True, 4, None) == "configuration reloaded: generation=4"
    error = ("HTTPRoute shop/cart: spec.rules[2].matches[0].path.value: must start with '/'\n"
             "HTTPRoute shop/cart: spec.rules[3].backendRefs[0].port: required")
    assert reload_line(False, 4, error) == (
        "configuration refused, still serving generation=4: HTTPRoute shop/cart: "
        "spec.rules[2].matches[0].path.value: must start with '/'\n"
        "  HTTPRoute shop/cart: spec.rules[3].backendRefs[0].port: required")
    with caplog.at_level(logging.INFO, logger="routecore.serve"):
        log_reload(True, 5, None)
        log_reload(False, 5, "no Gateway infra/edge\x1b[2J")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "configuration reloaded: generation=5"),
        ("ERROR", "configuration refused, still serving generation=5: no Gateway infra/edge\\x1b[2J")]


# --- upstream warnings ---------------------------------------------------------------------------

def edge(native):
    return Router(load(os.path.join(EXAMPLES, "edge.yaml")), native=native)


def test_upstream_warnings_none_when_keys_match(twin):
    ups = {"store/api:8080": "http://a", "store/api-canary:8080": "http://b"}
    assert upstream_warnings(edge(twin), lambda r: r.gateway("edge", "infra", 80), ups) == []


def test_upstream_typo_names_the_nearest_backend(twin):
    ups = {"store/api:8080": "http://a", "store/api-canry:8080": "http://b",
           "store/api:8081": "http://c"}
    assert upstream_warnings(edge(twin), lambda r: r.gateway("edge", "infra", 80), ups) == [
        "--upstream store/api-canry:8080: no rule or mirror of the served view references it; "
        "nearest backend: store/api-canary:8080",
        "--upstream store/api:8081: no rule or mirror of the served view references it; "
        "nearest backend: store/api:8080",
        "backend store/api-canary:8080 has no --upstream: requests routed to it get 502"]


def test_upstream_warnings_mesh_reviews(twin):
    router = Router(load(os.path.join(EXAMPLES, "reviews.yaml")), native=twin)
    select = lambda r: r.service("reviews", "default", 9080)  # noqa: E731
    assert upstream_warnings(router, select, {"default/reveiws-v2:9080": "http://x",
                                              "default/reviews-v1:9080": "http://y"}) == [
        "--upstream default/reveiws-v2:9080: no rule or mirror of the served view references "
        "it; nearest backend: default/reviews-v2:9080",
        "backend default/reviews-v2:9080 has no --upstream: requests routed to it get 502"]
    # a Service port with no route: requests go to the Service itself
    alone = lambda r: r.service("ratings", "default", 9080)  # noqa: E731
    assert upstream_warnings(router, alone, {"default/ratings:9080": "http://z"}) == []
    assert upstream_warnings(router, alone, {}) == [
        "backend default/ratings:9080 has no --upstream: requests routed to it get 502"]


MIRRORS = documents(
    gateway_yaml(listener_yaml("web"), listener_yaml("admin", 8080), name="gw"),
    httproute_yaml("web", "app", "[{name: gw, namespace: infra, sectionName: web}]", """
  - filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}}
    backendRefs: [{name: front, port: 80}, {name: front-old, port: 80, weight: 0}]
  - matches: [{path: {type: PathPrefix, value: /other}}]
    backendRefs: [{name: elsewhere, namespace: other, port: 80}]"""),
    httproute_yaml("ops", "app", "[{name: gw, namespace: infra, sectionName: admin}]",
                   "[{backendRefs: [{name: console, port: 80}]}]"))


def test_upstream_warnings_mirrors_weights_grants_and_listeners(twin):
    router = Router(load(MIRRORS), native=twin)
    web = lambda r: r.gateway("gw", "infra", 80)  # noqa: E731
    assert upstream_warnings(router, web, {"app/front:80": "u", "app/shadow:80": "u"}) == []
    assert upstream_warnings(router, web, {
        "app/front:80": "u", "app/front-old:80": "u", "other/elsewhere:80": "u",
        "app/console:80": "u"}) == [
        # the other listener's backend, a weight-0 backend and a backendRef without a
        # ReferenceGrant: nothing is ever sent to them from this view
        "--upstream app/console:80: no rule or mirror of the served view references it; "
        "nearest backend: app/front:80",
        "--upstream app/front-old:80: no rule or mirror of the served view references it; "
        "nearest backend: app/front:80",
        "--upstream other/elsewhere:80: no rule or mirror of the served view references it; "
        "nearest backend: app/shadow:80",
        "mirror backend app/shadow:80 has no --upstream: its mirrored requests are dropped"]
    ops = lambda r: r.gateway("gw", "infra", 8080)  # noqa: E731
    assert upstream_warnings(router, ops, {"app/console:80": "u"}) == []


def test_upstream_warnings_view_without_backends(twin):
    router = Router(load(MIRRORS.replace("backendRefs: [{name: console, port: 80}]",
                                         "filters: [{type: RequestRedirect, requestRedirect: "
                                         "{statusCode: 302, hostname: example.com}}]")),
                    native=twin)
    assert upstream_warnings(router, lambda r: r.gateway("gw", "infra", 8080),
                             {"app/console:80": "u"}) == [
        "--upstream app/console:80: no rule or mirror of the served view references it; "
        "the view references no backend"]


# --- metrics -------------------------------------------------------------------------------------

def samples(metrics):
    """{(sample name, sorted labels): value} from the rendered exposition."""
    body, content_type = metrics.render()
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_latency_and_errors():
    m = Metrics(version="9.9.9", native=False)
    for _ in range(3):
        m.observe(exchange())
    m.observe(exchange(upstream_seconds=0.3))
    m.observe(exchange(status=503, upstream_seconds=0.004, error="upstream_reset: mid-body"))
    m.observe(exchange(status=404, route=None, rule=None, backend=None, upstream_seconds=None))
    m.observe(exchange(status=0, upstream_seconds=None, error="the client went away"))
    m(exchange(status=502, upstream_seconds=None, error="connection refused"))
    s = samples(m)
    req = lambda route, backend, code: s[("routecore_requests_total", (  # noqa: E731
        ("backend", backend), ("code", code), ("route", route)))]
    assert req("store/shop", "store/api:8080", "200") == 4
    assert req("store/shop", "store/api:8080", "503") == 1
    assert req("-", "-", "404") == 1
    assert req("store/shop", "store/api:8080", "0") == 1
    assert req("store/shop", "store/api:8080", "502") == 1
    lat = (("backend", "store/api:8080"), ("route", "store/shop"))
    assert s[("routecore_upstream_duration_seconds_count", lat)] == 5
    assert s[("routecore_upstream_duration_seconds_sum", lat)] == pytest.approx(
        3 * 0.0123 + 0.3 + 0.004)
    bucket = lambda le: s[("routecore_upstream_duration_seconds_bucket", (  # noqa: E731
        ("backend", "store/api:8080"), ("le", le), ("route", "store/shop")))]
    assert (bucket("0.005"), bucket("0.025"), bucket("0.25"), bucket("0.5"), bucket("+Inf")) == \
        (1, 4, 4, 5, 5)
    assert not any(k[0].startswith("routecore_upstream_duration") and ("route", "-") in k[1]
                   for k in s)  # no upstream time, no observation
    err = lambda reason: s.get(("routecore_request_errors_total", (("reason", reason),)))  # noqa
    assert (err("upstream_reset"), err("client_abort"), err("upstream_connect")) == (1, 1, 1)
    assert s[("routecore_build_info", (("core", "pure"), ("version", "9.9.9")))] == 1


def test_error_reasons_are_bounded():
    assert error_reason("upstream_timeout", 504) == "upstream_timeout"
    assert error_reason("bad_request: header too long", 400) == "bad_request"
    assert error_reason("upstream_timeouts are fun", 200) == "other"  # a word must match whole
    assert error_reason("ReadTimeout()", 504) == "upstream_timeout"
    assert error_reason("x" * 1000, 500) == "internal"
    assert error_reason("garbage", 431) == "bad_request"


def test_metrics_reloads_and_generation():
    before = time.time()
    m = Metrics(generation=0)
    s = samples(m)
    assert s[("routecore_config_reloads_total", (("outcome", "success"),))] == 0
    assert s[("routecore_config_reloads_total", (("outcome", "failure"),))] == 0
    assert s[("routecore_config_generation", ())] == 0
    assert s[("routecore_config_last_reload_successful", ())] == 1
    started = s[("routecore_config_last_reload_success_timestamp_seconds", ())]
    assert before <= started <= time.time()
    m.reloaded(True, 1, None)
    m.reloaded(True, 2, None)
    s = samples(m)
    success_at = s[("routecore_config_last_reload_success_timestamp_seconds", ())]
    m.reloaded(False, 2, "HTTPRoute a/b: spec.rules: bad")
    s = samples(m)
    assert s[("routecore_config_reloads_total", (("outcome", "success"),))] == 2
    assert s[("routecore_config_reloads_total", (("outcome", "failure"),))] == 1
    assert s[("routecore_config_generation", ())] == 2
    assert s[("routecore_config_last_reload_successful", ())] == 0
    assert s[("routecore_config_last_reload_success_timestamp_seconds", ())] == success_at >= started


def test_metrics_instances_are_independent():
    a, b = Metrics(), Metrics()
    a.observe(exchange())
    assert samples(a)[("routecore_requests_total", (("backend", "store/api:8080"), ("code", "200"),
                                                     ("route", "store/shop")))] == 1
    assert not any(k[0] == "routecore_requests_total" for k in samples(b))


# --- admin listener ------------------------------------------------------------------------------

def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def admin(metrics=None, ready=lambda: True, **kw):
    server = await start_admin("127.0.0.1", 0, metrics=metrics or Metrics(), ready=ready, **kw)
    return server, server.sockets[0].getsockname()[1]


async def raw(port, data: bytes, *, read_timeout=5.0) -> bytes:
    """Send ``data`` on a fresh connection, return all bytes until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), read_timeout)
    finally:
        writer.close()


def test_admin_endpoints_over_http():
    async def main():
        state = {"ready": False}
        metrics = Metrics()
        server, port = await admin(metrics, ready=lambda: state["ready"])
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                r = await client.get("/healthz")
                assert (r.status_code, r.text) == (200, "ok\n")
                r = await client.get("/readyz")
                assert (r.status_code, r.text) == (503, "not ready\n")
                state["ready"] = True
                r = await client.get("/readyz")
                assert (r.status_code, r.text) == (200, "ready\n")
                for _ in range(7):
                    metrics.observe(exchange())
                metrics.observe(exchange(status=504, error="upstream_timeout"))
                metrics.reloaded(True, 1, None)
                metrics.reloaded(False, 1, "bad")
                r = await client.get("/metrics?debug=1")
                assert r.status_code == 200
                assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
                values = {(s.name, tuple(sorted(s.labels.items()))): s.value
                          for f in text_string_to_metric_families(r.text) for s in f.samples}
                key = (("backend", "store/api:8080"), ("route", "store/shop"))
                assert values[("routecore_requests_total", (key[0], ("code", "200"), key[1]))] == 7
                assert values[("routecore_requests_total", (key[0], ("code", "504"), key[1]))] == 1
                assert values[("routecore_upstream_duration_seconds_count", key)] == 8
                assert values[("routecore_request_errors_total",
                               (("reason", "upstream_timeout"),))] == 1
                assert values[("routecore_config_reloads_total", (("outcome", "failure"),))] == 1
                assert values[("routecore_config_generation", ())] == 1
                # what Prometheus asks for: OpenMetrics
                r = await client.get("/metrics", headers={
                    "accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
                assert r.headers["content-type"].startswith("application/openmetrics-text; "
                                                            "version=1.0.0; charset=utf-8")
                om = {(s.name, tuple(sorted(s.labels.items()))): s.value
                      for f in openmetrics_families(r.text) for s in f.samples}
                assert om[("routecore_requests_total", (key[0], ("code", "200"), key[1]))] == 7
                assert om[("routecore_config_reloads_total", (("outcome", "success"),))] == 1
                r = await client.head("/metrics")
                assert r.status_code == 200 and r.content == b""
                assert int(r.headers["content-length"]) > 1000
                r = await client.get("/nope")
                assert (r.status_code, r.text) == (404, "not found\n")
                r = await client.post("/healthz", content=b"x")
                assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
                r = await client.get("/healthz")  # after a request with a body: a new connection
                assert r.status_code == 200
        finally:
            server.close()
            await server.wait_closed()
    run(main())


def test_admin_readiness_probe_failure_is_not_ready(caplog):
    def broken():
        raise RuntimeError("boom")

    async def main():
        server, port = await admin(ready=broken)
        try:
            return await raw(port, b"GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        finally:
            server.close()
            await server.wait_closed()
    reply = run(main())
    assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert reply.endswith(b"\r\n\r\nnot ready\n")
    assert any("readiness check failed" in r.getMessage() for r in caplog.records)


def test_admin_keep_alive_and_pipelining_then_close():
    async def main():
        server, port = await admin()
        try:
            return await raw(port, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                                   b"HEAD /readyz HTTP/1.1\r\nHost: a\r\n\r\n"
                                   b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                   b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        finally:
            server.close()
            await server.wait_closed()
    reply = run(main())
    heads = reply.split(b"HTTP/1.1 ")[1:]
    assert len(heads) == 3  # the fourth request follows Connection: close and is not answered
    assert heads[0].startswith(b"200 OK\r\n") and b"Connection: keep-alive\r\n" in heads[0]
    assert heads[0].endswith(b"\r\n\r\nok\n")
    assert heads[1].endswith(b"Content-Length: 6\r\nCache-Control: no-store\r\n"
                             b"Connection: keep-alive\r\n\r\n")  # HEAD: the length, no body
    assert b"Connection: close\r\n" in heads[2] and heads[2].endswith(b"\r\n\r\nok\n")


def test_admin_http10_closes():
    async def main():
        server, port = await admin()
        try:
            return await raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")
        finally:
            server.close()
            await server.wait_closed()
    reply = run(main())
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in reply


@pytest.mark.parametrize("request_bytes", [
    b"GET /healthz\r\n\r\n",                                   # no version
    b"GET  /healthz HTTP/1.1\r\n\r\n",                         # two spaces
    b"GET /healthz HTTP/2.0\r\n\r\n",                          # not HTTP/1.x
    b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n",         # space in a field name
    b"GET /healthz HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",       # obs-fold
    b"GET /heal\x00thz HTTP/1.1\r\n\r\n",                      # control in the target
    b"GET /healthz HTTP/1.1\r\nX: a\x01b\r\n\r\n",             # control in a value
])
def test_admin_malformed_request_gets_400_and_close(request_bytes):
    async def main():
        server, port = await admin()
        try:
            return await raw(port, request_bytes + b"GET /healthz HTTP/1.1\r\n\r\n")
        finally:
            server.close()
            await server.wait_closed()
    reply = run(main())
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.count(b"HTTP/1.1 ") == 1 and b"Connection: close\r\n" in reply


def test_admin_head_too_large_gets_431():
    async def main():
        server, port = await admin()
        try:
            return await raw(port, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
        finally:
            server.close()
            await server.wait_closed()
    reply = run(main())
    assert reply.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_admin_slow_header_is_cut_off():
    """Slowloris: a connection trickling its head is closed once header_timeout has passed."""
    async def main():
        server, port = await admin(header_timeout=0.5)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = time.monotonic()
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            closed_after = None
            for _ in range(40):  # one header line every 0.1 s, for up to 4 s
                await asyncio.sleep(0.1)
                try:
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
                except ConnectionError:
                    closed_after = time.monotonic() - started
                    break
                if reader.at_eof() or (await _eof_soon(reader)):
                    closed_after = time.monotonic() - started
                    break
            writer.close()
            return closed_after
        finally:
            server.close()
            await server.wait_closed()
    closed_after = run(main())
    assert closed_after is not None, "the trickling connection was never closed"
    assert closed_after < 3.0


async def _eof_soon(reader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), 0.01)
    except asyncio.TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b""


def test_admin_idle_keep_alive_connection_is_closed():
    async def main():
        server, port = await admin(header_timeout=0.3)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            first = await asyncio.wait_for(reader.readuntil(b"ok\n"), 5)
            rest = await asyncio.wait_for(reader.read(), 5)  # returns once the server hangs up
            writer.close()
            return first, rest
        finally:
            server.close()
            await server.wait_closed()
    first, rest = run(main())
    assert first.startswith(b"HTTP/1.1 200 OK") and rest == b""


def test_admin_binds_where_told():
    async def main():
        server, port = await admin()
        try:
            assert server.sockets[0].getsockname()[0] == "127.0.0.1"
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
        finally:
            server.close()
            await server.wait_closed()
    run(main())


@pytest.mark.parametrize("error, reason", [
    ("client aborted body", "client_abort"), ("client closed connection", "client_abort"),
    ("client body timeout", "client_timeout"), ("header timeout", "client_timeout"),
    ("bad request: Content-Length with Transfer-Encoding", "bad_request"),
    ("no upstream for store/api:8080", "no_upstream"),
    ("upstream connect failed: Connection refused", "upstream_connect"),
    ("upstream reset", "upstream_reset"), ("upstream closed", "upstream_reset"),
    ("upstream timeout", "upstream_timeout"), ("upstream bad response: HPE_INVALID", "upstream_protocol"),
])
def test_the_proxy_error_texts_have_their_reason_class(error, reason):
    # the texts routecore serve writes into Exchange.error are counted under their own class,
    # whatever the status
    assert error_reason(error, 200) == reason
