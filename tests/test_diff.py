"""routecore._cli.diff: `routecore diff` replays a request log through two configurations."""
import json
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

import routecore
from routecore._cli.diff import DiffReport, Group, Request, diff_requests, read_requests

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EDGE = EXAMPLES / "edge.yaml"
GW = "infra/edge:80"

# edge.yaml changed three ways: /api/v2 moves to its own backend (a new rule 2), /legacy gets a
# redirect (rule 3, where nothing matched), and header filters change on rules 0 and 1.
NEW_RULES = """\
  - matches: [{path: {type: PathPrefix, value: /api/v2}}]
    backendRefs:
    - {name: api-v2, port: 8080}
  - matches: [{path: {type: PathPrefix, value: /legacy}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {statusCode: 302, hostname: legacy.example.com}
"""


def modified_edge() -> str:
    text = EDGE.read_text()
    text = text.replace(
        "        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}\n",
        "        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}\n"
        "    - type: ResponseHeaderModifier\n"
        "      responseHeaderModifier: {set: [{name: cache-control, value: no-store}]}\n")
    text = text.replace(
        "      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}\n",
        "      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: x-env, value: prod}]}\n")
    assert text.count("ResponseHeaderModifier") == 1 and text.count("RequestHeaderModifier") == 1
    return text + NEW_RULES


MOVED = ("route store/shop rule 1 → store/shop rule 2, backend api 90% + api-canary 10% → api-v2, "
         "changed: upstream path")
REDIRECTED = "route none → store/shop rule 3, status 404 → redirect 302, changed: location"
RESPONSE_HEADERS = "route store/shop rule 0, changed: response headers"
REQUEST_HEADERS = "route store/shop rule 1, changed: request headers"

# (category, host, paths): what each generated request is, and the group it must land in
CATEGORIES = [
    (MOVED, "shop.example.com", ["/api/v2/items", "/api/v2/items?page=3", "/api/v2", "/api/v2/"]),
    (REQUEST_HEADERS, "shop.example.com", ["/api/items", "/api", "/api/v1/x?y=1", "/api/v20"]),
    (RESPONSE_HEADERS, "shop.example.com", ["/old/page?x=1", "/old", "/old/a/b"]),
    (REDIRECTED, "shop.example.com", ["/legacy", "/legacy/a?q=2"]),
    (None, "shop.example.com", ["/", "/new/page", "/apiary", "/static/app.js", "/oldish"]),
    (None, "other.example.com", ["/api/v2/items", "/legacy", "/old/x"]),   # no route: 404 both
    (None, "shop.example.org", ["/api/v2/items", "/legacy"]),              # no listener: 404 both
]

GARBAGE = ["this is not a request", "{not json", '{"method": "GET"}', '{"path": 7}',
           '["GET", "/"]', '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 408 0',
           '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1"',
           '{"method": "GET", "path": "/x", "headers": [["only-a-name"]]}']


def json_line(rng, method, path, host):
    if rng.random() < 0.5:
        obj = {"method": method, "path": path, "host": host,
               "headers": {"user-agent": "load/1", "accept": "*/*"}}
    else:  # list-of-pairs headers, the host in the Host header
        obj = {"method": method, "path": path, "headers": [["Host", host], ["x-trace", "1"]]}
    return json.dumps(obj)


def log_line(rng, method, path, host, default_host):
    stamp = "10/Oct/2000:13:55:36 -0700"
    ip = f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
    request = f'"{method} {path} HTTP/1.1" {rng.choice([200, 301, 404])} {rng.randrange(5000)}'
    if host == default_host and rng.random() < 0.3:  # common log format: host from --host
        return f"{ip} - - [{stamp}] {request}"
    combined = f'{ip} - frank [{stamp}] {request} "http://ref.example/" "Mozilla/5.0 (X11)"'
    if host == default_host and rng.random() < 0.5:
        return combined
    return f"{combined} {host}"


def write_log(target, seed=7, n=3000, garbage=25):
    """A seeded mix of JSON lines, common and combined log lines, blank and unparseable lines;
    returns the expected {transition: count} of the changed requests and the line counts."""
    rng = random.Random(seed)
    expected, lines = Counter(), []
    for _ in range(n):
        category, host, paths = rng.choice(CATEGORIES)
        path, method = rng.choice(paths), rng.choice(["GET", "GET", "POST", "HEAD"])
        if host != "shop.example.com" or rng.random() < 0.5:
            lines.append(json_line(rng, method, path, host) if rng.random() < 0.5
                         else log_line(rng, method, path, host, "shop.example.com"))
        else:
            lines.append(log_line(rng, method, path, host, "shop.example.com"))
        if category is not None:
            expected[category] += 1
    for i in range(garbage):
        lines.insert(rng.randrange(len(lines) + 1), GARBAGE[i % len(GARBAGE)])
    for _ in range(5):
        lines.insert(rng.randrange(len(lines) + 1), "")
    Path(target).write_text("\n".join(lines) + "\n")
    return dict(expected), n, garbage


@pytest.fixture
def configs(tmp_path):
    new = tmp_path / "new.yaml"
    new.write_text(modified_edge())
    return EDGE, new


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "routecore", *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kw)


# --- library -------------------------------------------------------------------------------------


def test_exact_counts_per_group(configs, tmp_path, twin):
    old, new = configs
    log = tmp_path / "requests.log"
    expected, n, garbage = write_log(log)
    views = [routecore.Router.from_source(p, seed=s, native=twin).gateway("edge", "infra", 80)
             for p, s in ((old, 1), (new, 2))]
    reader = read_requests(log, default_host="shop.example.com")
    report = diff_requests(*views, reader, limit_examples=2)
    assert isinstance(report, DiffReport)
    assert report.total == n and report.unparseable == garbage
    assert {g.transition: g.count for g in report.groups} == expected
    assert report.changed == sum(expected.values())
    assert report.unchanged == n - report.changed > 0
    counts = [g.count for g in report.groups]
    assert counts == sorted(counts, reverse=True)
    for g in report.groups:
        assert isinstance(g, Group) and 1 <= len(g.examples) <= 2
        assert len({e.request.key for e in g.examples}) == len(g.examples)
    moved = next(g for g in report.groups if g.transition == MOVED)
    ex = moved.examples[0]
    assert [o.backend[1] for _, o in ex.old] == ["api", "api-canary"]
    assert [float(p) for p, _ in ex.old] == [0.9, 0.1]
    assert [(float(p), o.backend[1]) for p, o in ex.new] == [(1.0, "api-v2")]
    text = report.to_text()
    assert text.splitlines()[0] == (f"{n} requests: {report.changed} changed, "
                                    f"{report.unchanged} unchanged; {garbage} unparseable line(s)")
    assert "request headers: +x-env: prod" in text
    assert "response headers: +cache-control: no-store" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert {g["transition"]: g["count"] for g in data["groups"]} == expected
    assert data["unparseable"] == garbage


def test_identical_configs_with_weighted_backends_never_differ(tmp_path):
    """The weighted /api split is compared as a distribution: different seeds, no change."""
    log = tmp_path / "requests.log"
    write_log(log, n=500, garbage=0)
    views = [routecore.Router.from_source(EDGE, seed=s).gateway("edge", "infra", 80)
             for s in (1, 99)]
    report = diff_requests(*views, read_requests(log, default_host="shop.example.com"))
    assert report.total == 500 and report.changed == 0 and report.groups == ()
    assert "no request changes outcome" in report.to_text()


def test_weights_changed_alone(tmp_path):
    new = tmp_path / "w.yaml"
    new.write_text(EDGE.read_text().replace("weight: 90", "weight: 60").replace("weight: 10", "weight: 40"))
    views = [routecore.Router.from_source(p).gateway("edge", "infra", 80) for p in (EDGE, new)]
    reqs = [Request("GET", "/api/a", host="shop.example.com"),
            Request("GET", "/api/b", host="shop.example.com"),
            Request("GET", "/old/x", host="shop.example.com")]
    report = diff_requests(*views, reqs)
    assert report.total == 3 and report.changed == 2
    (g,) = report.groups
    assert g.transition == ("route store/shop rule 1, weights api 90% + api-canary 10% → "
                            "api 60% + api-canary 40%")
    assert g.count == 2 and g.changes == ()


def test_backend_swapped_inside_a_split_is_a_change(tmp_path):
    """Same rule, same weights, one backend renamed: the distribution differs."""
    new = tmp_path / "s.yaml"
    new.write_text(EDGE.read_text().replace("name: api-canary", "name: api-next"))
    views = [routecore.Router.from_source(p).gateway("edge", "infra", 80) for p in (EDGE, new)]
    report = diff_requests(*views, ['{"path": "/api/x", "host": "shop.example.com"}'])
    assert [g.transition for g in report.groups] == [
        "route store/shop rule 1, backend api 90% + api-canary 10% → api 90% + api-next 10%"]


def test_mesh_service_with_client_namespace(tmp_path):
    new = tmp_path / "reviews.yaml"
    new.write_text((EXAMPLES / "reviews.yaml").read_text().replace(
        "    - name: reviews-v1\n      port: 9080", "    - name: reviews-v3\n      port: 9080"))
    views = [routecore.Router.from_source(p).service("reviews", "default", 9080,
                                                     client_namespace="default")
             for p in (EXAMPLES / "reviews.yaml", new)]
    lines = ['{"method": "GET", "path": "/reviews/1"}',
             '{"method": "GET", "path": "/reviews/1", "headers": {"my-favorite-service-mesh": "istio"}}',
             '{"method": "GET", "path": "/reviews/2"}']
    report = diff_requests(*views, read_requests(lines))
    assert report.total == 3 and report.changed == 2
    assert [(g.transition, g.count) for g in report.groups] == [
        ("route default/reviews rule 1, backend reviews-v1 → reviews-v3", 2)]


def test_read_requests_formats_and_unparseable_lines():
    lines = [
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08"',
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 - "-" "-" shop.example.com',
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /q\\"uote HTTP/1.1" 200 12',
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /nine" 200 12',
        '   ',
        '{"method": "PUT", "path": "/j?x=1", "headers": {"A": ["1", "2"]}, "host": "h.example"}',
        '{"path": "/k", "headers": [["Host", "k.example"]]}',
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "\\x16\\x03\\x01" 400 0',
        '{"method": "GET", "path": "/x", "headers": "nope"}',
        'GET / HTTP/1.1',
    ]
    reader = read_requests(lines, default_host="default.example")
    got = list(reader)
    assert [(r.method, r.target, r.host, r.line) for r in got] == [
        ("GET", "/apache_pb.gif", "default.example", 1),
        ("GET", "/a", "shop.example.com", 2),
        ("GET", '/q"uote', "default.example", 3),
        ("GET", "/nine", "default.example", 4),
        ("PUT", "/j?x=1", "h.example", 6),
        ("GET", "/k", None, 7),   # its Host header gives the host
    ]
    assert got[0].headers == (("referer", "http://www.example.com/start.html"),
                              ("user-agent", "Mozilla/4.08"))
    assert got[1].headers == ()
    assert got[4].headers == (("A", "1"), ("A", "2"))
    assert reader.unparseable == 3 and reader.unparseable_lines == [8, 9, 10]


# --- command line --------------------------------------------------------------------------------


def test_cli_text_and_exit_1(configs, tmp_path):
    old, new = configs
    log = tmp_path / "requests.log"
    expected, n, garbage = write_log(log, seed=3, n=2000, garbage=9)
    r = run("diff", old, new, "--requests", log, "--gateway", GW, "--host", "shop.example.com",
            "--limit-examples", "1")
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith(f"{n} requests: {sum(expected.values())} changed")
    for transition, count in expected.items():
        assert f"{count}  {transition}\n" in r.stdout
    assert r.stdout.count("e.g. ") == len(expected)
    assert f"{garbage} unparseable line(s) skipped" in r.stderr


def test_cli_json_parses(configs, tmp_path):
    old, new = configs
    log = tmp_path / "requests.jsonl"
    expected, n, garbage = write_log(log, seed=11, n=1500, garbage=4)
    r = run("diff", old, new, "--requests", log, "--gateway", GW, "--host", "shop.example.com",
            "--format", "json", "--seed", "5")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["total"] == n and data["unparseable"] == garbage
    assert {g["transition"]: g["count"] for g in data["groups"]} == expected
    assert all(1 <= len(g["examples"]) <= 3 for g in data["groups"])
    ex = next(g for g in data["groups"] if g["transition"] == REDIRECTED)["examples"][0]
    assert ex["old"][0]["status"] == 404 and ex["new"][0]["status"] == 302
    assert ex["new"][0]["location"].startswith("http://legacy.example.com/legacy")


def test_cli_exit_0_when_nothing_changes(tmp_path):
    log = tmp_path / "requests.log"
    write_log(log, n=300, garbage=2)
    r = run("diff", EDGE, EDGE, "--requests", log, "--gateway", GW, "--host", "shop.example.com")
    assert r.returncode == 0, r.stderr
    assert "300 requests: 0 changed, 300 unchanged; 2 unparseable line(s)" in r.stdout
    r = run("diff", EDGE, EDGE, "--requests", log, "--gateway", GW, "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["groups"] == []


def test_cli_errors_exit_2(configs, tmp_path):
    old, new = configs
    log = tmp_path / "requests.log"
    log.write_text('{"path": "/"}\n')
    broken = tmp_path / "broken.yaml"
    broken.write_text(EDGE.read_text().replace("value: /api}", "value: api}"))
    r = run("diff", old, broken, "--requests", log, "--gateway", GW)
    assert r.returncode == 2
    assert "HTTPRoute store/shop" in r.stderr and "must start with '/'" in r.stderr
    r = run("diff", old, new, "--requests", log, "--gateway", "infra/nope")
    assert r.returncode == 2 and "no Gateway infra/nope" in r.stderr
    r = run("diff", old, new, "--requests", tmp_path / "missing.log", "--gateway", GW)
    assert r.returncode == 2 and "missing.log" in r.stderr
    r = run("diff", old, new, "--requests", log, "--service", "default/reviews")
    assert r.returncode == 2 and "NS/NAME:PORT" in r.stderr
    r = run("diff", old, new, "--gateway", GW)   # usage: --requests is required
    assert r.returncode == 2 and "--requests" in r.stderr


def test_cli_reads_stdin(configs):
    old, new = configs
    r = run("diff", old, new, "--requests", "-", "--gateway", GW, "--format", "json",
            input='{"path": "/legacy", "host": "shop.example.com"}\n{"path": "/"}\n')
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["total"] == 2 and [(g["transition"], g["count"]) for g in data["groups"]] == [
        (REDIRECTED, 1)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a pty")
def test_cli_progress_bar_on_a_tty_for_large_files(configs, tmp_path):
    import pty

    old, new = configs
    log = tmp_path / "big.log"
    expected, n, _ = write_log(log, seed=5, n=12_000, garbage=0)
    master, slave = pty.openpty()
    seen = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            seen.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        r = subprocess.run([sys.executable, "-m", "routecore", "diff", str(old), str(new),
                            "--requests", str(log), "--gateway", GW, "--host", "shop.example.com",
                            "--format", "json"],
                           stdout=subprocess.PIPE, stderr=slave, text=True, timeout=300)
    finally:
        os.close(slave)
        reader.join(5)
        os.close(master)
    assert r.returncode == 1
    assert json.loads(r.stdout)["total"] == n
    assert b"replaying requests" in b"".join(seen)
    # not a TTY: no progress output at all
    r = run("diff", old, new, "--requests", log, "--gateway", GW, "--host", "shop.example.com",
            "--format", "json")
    assert r.returncode == 1 and r.stderr == ""


# --- routecore serve's and Envoy's access logs; nothing to replay (issue 11, item 12) ------------

SERVE_LINES = [
    '127.0.0.1:51234 "GET /api/items?x=1 HTTP/1.1" 200 host=shop.example.com route=store/shop '
    'rule=1 backend=store/api:8080 bytes=512 upstream_ms=3.2 duration_ms=4.1',
    # a logging prefix before it, no Host, answered by the proxy
    '2024-05-01 12:00:00,123 INFO routecore.access: [::1]:5 "POST /old/x HTTP/1.1" 301 host=- '
    'route=store/shop rule=0 backend=- bytes=0 upstream_ms=- duration_ms=0.3',
    '10.0.0.7:9 "GET /legacy%20x HTTP/2" 504 host=shop.example.com route=- rule=- backend=- '
    'bytes=0 upstream_ms=- duration_ms=30000.0 error="upstream timed out \\"after 30 s\\""',
    json.dumps({"time": "2024-05-01T12:00:00Z", "client": "127.0.0.1:7", "method": "DELETE",
                "target": "/api/x", "protocol": "HTTP/1.1", "status": 200,
                "host": "shop.example.com", "route": "store/shop", "rule": 1,
                "backend": "store/api:8080", "bytes_received": 0, "bytes_sent": 2,
                "upstream_ms": 1.5, "duration_ms": 2.0, "error": None}),
    json.dumps({"time": "t", "client": "c", "method": "GET", "target": "/nohost",
                "protocol": "HTTP/1.1", "status": 404, "host": "-", "route": "-", "rule": "-",
                "backend": "-", "bytes_received": 0, "bytes_sent": 0, "upstream_ms": "-",
                "duration_ms": 0.1, "error": None}),
]
ENVOY_LINES = [
    '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 '
    '"10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"',
    '[2024-01-01T00:00:00.000Z] "GET /legacy?a=b HTTP/1.1" 404 NR 0 0 0 - "-" "-" '
    '"5b1c9d06-0b0e-4c3c-9e2c-7a0a8d8c1f00" "-" "-"',
]


def test_read_requests_reads_serve_and_envoy_access_logs():
    reader = read_requests(SERVE_LINES + ENVOY_LINES, default_host="d.example")
    got = [(r.method, r.target, r.host, r.headers) for r in reader]
    assert got == [
        ("GET", "/api/items?x=1", "shop.example.com", ()),
        ("POST", "/old/x", "d.example", ()),
        ("GET", "/legacy%20x", "shop.example.com", ()),
        ("DELETE", "/api/x", "shop.example.com", ()),
        ("GET", "/nohost", "d.example", ()),
        ("POST", "/api/v1/locations", "locations", (("user-agent", "nsq2http"),)),
        ("GET", "/legacy?a=b", "d.example", ()),
    ]
    assert reader.unparseable == 0
    # a field missing or out of order is not a request
    broken = [SERVE_LINES[0].replace(" rule=1", ""), ENVOY_LINES[0].replace(" 204 -", " 204")]
    reader = read_requests(broken)
    assert list(reader) == [] and reader.unparseable == 2


def test_cli_diff_of_a_serve_access_log(configs, tmp_path):
    old, new = configs
    log = tmp_path / "access.log"
    log.write_text("\n".join(SERVE_LINES + ENVOY_LINES) + "\n")
    r = run("diff", old, new, "--requests", log, "--gateway", GW, "--format", "json",
            "--host", "shop.example.com")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["total"] == 7 and data["unparseable"] == 0
    assert any(g["transition"] == REDIRECTED for g in data["groups"])


def test_cli_diff_with_no_request_to_replay_fails(configs, tmp_path):
    old, new = configs
    log = tmp_path / "garbage.log"
    log.write_text("not a request\nnor this\n")
    r = run("diff", old, new, "--requests", log, "--gateway", GW)
    assert r.returncode == 2 and r.stdout == ""
    assert f"no request to replay in {log}: none of its 2 line(s) could be parsed" in r.stderr
    log.write_text("")
    r = run("diff", old, new, "--requests", log, "--gateway", GW)
    assert r.returncode == 2 and "it holds no request" in r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a pty")
def test_cli_progress_without_rich_names_the_extra(configs, tmp_path):
    import pty

    old, new = configs
    log = tmp_path / "big.log"
    write_log(log, seed=5, n=10_050, garbage=0)
    shim = ("import sys, runpy\nsys.modules['rich'] = None\n"
            f"sys.argv = ['routecore', 'diff', {str(old)!r}, {str(new)!r}, '--requests', "
            f"{str(log)!r}, '--gateway', {GW!r}, '--host', 'shop.example.com']\n"
            "runpy.run_module('routecore', run_name='__main__')\n")
    master, slave = pty.openpty()
    try:
        r = subprocess.run([sys.executable, "-c", shim], stdout=subprocess.PIPE, stderr=slave,
                           timeout=300)
        os.close(slave)
        err = b""
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            err += data
    finally:
        os.close(master)
    assert r.returncode == 2 and r.stdout == b""
    assert err.decode().strip() == ("routecore: the progress bar of routecore diff "
                                    "(or --no-progress) needs rich: pip install 'routecore[diff]'")
