"""routecore._explain: view.explain() on both twins, and `routecore explain` as a subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from routecore._explain import NOT_REACHED_REASON, Explanation

from builders import gateway_yaml, listener_yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

GATEWAY = gateway_yaml(
    listener_yaml("shop", hostname="shop.example.com"),
    listener_yaml("wild", hostname="*.example.com"),
    listener_yaml("any"),
    listener_yaml("only", 8080, hostname="only.example.org"),
    name="gw")

ROUTES = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: apps, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - name: canary
    matches:
    - path: {type: PathPrefix, value: /api}
      method: GET
      headers: [{name: x-canary, value: "true"}]
      queryParams: [{name: v, value: "2"}]
    backendRefs: [{name: api-canary, port: 80}]
  - name: stable
    matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs: [{name: api, port: 80}]
  - matches:
    - path: {type: Exact, value: /api/health}
    - path: {type: RegularExpression, value: "/v[0-9]+/.*"}
    - path: {type: PathPrefix, value: /}
      headers: [{name: x-version, type: RegularExpression, value: "v[12]"}]
    backendRefs: [{name: misc, port: 80}]
  - matches:
    - path: {type: PathPrefix, value: /post}
      method: POST
    - path: {type: PathPrefix, value: /q}
      queryParams: [{name: page, type: RegularExpression, value: "[0-9]+"}]
    backendRefs: [{name: forms, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: apps, creationTimestamp: "2024-01-02T00:00:00Z"}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: ["shop.example.com", "*.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api/cart}}]
    backendRefs: [{name: cart, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 80}]
"""

CONFIG = GATEWAY + ROUTES


def view(make_router, twin, port=80, **kw):
    return make_router(CONFIG, twin, **kw).gateway("gw", namespace="infra", port=port)


def consistent(e: Explanation) -> Explanation:
    """The invariants every explanation keeps; returns it for chaining."""
    assert e.agrees, str(e)
    assert [r.position for r in e.rows] == list(range(1, len(e.rows) + 1))
    won = [r for r in e.rows if r.won]
    assert len(won) <= 1
    after = False
    for r in e.rows:
        if after:
            assert r.state == "not reached" and r.reason == NOT_REACHED_REASON
        elif r.won:
            assert r.matched and r.reason is None
            after = True
        else:
            assert not r.matched and r.reason  # a row has a reason exactly when it does not fit
    if won:
        assert (won[0].route, won[0].rule) == (e.decision.route, e.decision.rule)
        assert e.decision.matched
    else:
        assert not e.decision.matched
    return e


def row(e, route, rule, match=0, hostname="*"):
    found = [r for r in e.rows if (r.route, r.rule, r.match) == (route, rule, match)
             and (hostname == "*" or r.hostname == hostname)]
    assert found, f"no row {route} {rule} {match}\n{e}"
    return found[0]


# --- the winner is the decision -------------------------------------------------------------


REQUESTS = [
    ("GET", "/api/items?v=2", {"x-canary": "true"}, "a.example.com"),
    ("GET", "/api/items?v=3", {"x-canary": "true"}, "a.example.com"),
    ("GET", "/api/health", {}, "other.org"),
    ("GET", "/v2/thing", {}, "other.org"),
    ("GET", "/zzz", {"x-version": "v1"}, "other.org"),
    ("GET", "/zzz", {}, "other.org"),
    ("POST", "/post/x", {}, "other.org"),
    ("GET", "/q?page=12", {}, "other.org"),
    ("GET", "/api/cart/1", {}, "shop.example.com"),
    ("GET", "/anything", {}, "shop.example.com"),
    ("GET", "/a/../api/./x", {}, "a.example.com"),
]


@pytest.mark.parametrize("method,target,headers,host", REQUESTS)
def test_the_winner_row_is_the_decision(make_router, twin, method, target, headers, host):
    v = view(make_router, twin)
    e = consistent(v.explain(method, target, headers, host=host))
    other = view(make_router, twin).route(method, target, headers, host=host)
    assert e.decision == other  # same seed, same first pick: explain routed it the same way


def test_works_on_both_twins_with_the_same_rows(make_router):
    from tests.conftest import both_twins

    explained = [r.gateway("gw", namespace="infra").explain("GET", "/api/x", host="a.example.com")
                 for r in both_twins(CONFIG)]
    assert all(e.rows == explained[0].rows for e in explained)


def test_headers_given_as_a_one_shot_iterator_are_read_by_both(make_router, twin):
    e = consistent(view(make_router, twin).explain(
        "GET", "/api/x?v=2", iter([("X-Canary", "true")]), host="other.org"))
    assert e.winner.rule_name == "canary" and e.decision.backend.name == "api-canary"


# --- reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize("method,target,headers,route,rule,match,reason", [
    ("GET", "/api/x?v=2", {}, "apps/api", 0, 0, "header x-canary missing"),
    ("GET", "/api/x?v=2", {"x-canary": "false"}, "apps/api", 0, 0,
     'header x-canary="false" != "true"'),
    ("POST", "/api/x?v=2", {"x-canary": "true"}, "apps/api", 0, 0, "method POST != GET"),
    ("GET", "/api/x", {"x-canary": "true"}, "apps/api", 0, 0, "query v missing"),
    ("GET", "/api/x?v=3&v=2", {"x-canary": "true"}, "apps/api", 0, 0, 'query v="3" != "2"'),
    ("GET", "/apix", {}, "apps/api", 1, 0, "prefix /api not at a segment boundary of /apix"),
    ("GET", "/other", {}, "apps/api", 1, 0, "path /other does not start with /api"),
    ("GET", "/api/healthz", {}, "apps/api", 2, 0, "path differs (/api/healthz != /api/health)"),
    ("GET", "/v2", {}, "apps/api", 2, 1, "regex /v[0-9]+/.* does not match /v2"),
    ("GET", "/x", {"x-version": "v3"}, "apps/api", 2, 2,
     'header x-version="v3" does not match regex "v[12]"'),
    ("GET", "/q?page=one", {}, "apps/api", 3, 1, 'query page="one" does not match regex "[0-9]+"'),
    ("GET", "/post", {}, "apps/api", 3, 0, "method GET != POST"),
])
def test_the_first_reason_of_each_kind_of_miss(make_router, twin, method, target, headers,
                                                route, rule, match, reason):
    e = consistent(view(make_router, twin).explain(method, target, headers, host="other.org"))
    r = row(e, route, rule, match)
    assert r.state == "no match" and not r.matched
    assert r.reason == reason
    assert reason in e.table()


def test_the_path_is_checked_first_then_the_method_then_headers_then_query(make_router, twin):
    e = consistent(view(make_router, twin).explain("POST", "/nope", {}, host="other.org"))
    assert row(e, "apps/api", 0).reason == "path /nope does not start with /api"
    e = consistent(view(make_router, twin).explain("POST", "/api", {}, host="other.org"))
    assert row(e, "apps/api", 0).reason == "method POST != GET"


def test_repeated_headers_are_explained_joined(make_router, twin):
    e = consistent(view(make_router, twin).explain(
        "GET", "/api?v=2", [("x-canary", "true"), ("X-Canary", "true")], host="other.org"))
    assert row(e, "apps/api", 0).reason == 'header x-canary="true,true" != "true"'


def test_rows_after_the_winner_are_not_reached_and_shadowed_when_they_would_match(
        make_router, twin):
    e = consistent(view(make_router, twin).explain("GET", "/api/x?v=2", {"x-canary": "true"},
                                                   host="other.org"))
    assert e.winner.rule_name == "canary"
    stable = row(e, "apps/api", 1)
    assert stable.state == "not reached" and stable.reason == NOT_REACHED_REASON
    assert stable.shadowed and stable.matched
    assert row(e, "apps/api", 2, 0).state == "no match"  # Exact /api/health ranks first
    regex = row(e, "apps/api", 2, 1)
    assert regex.state == "not reached" and not regex.shadowed
    assert "shadowed" in e.table() and "not reached (a higher-precedence match won)" in e.table()


# --- precedence order of rows ---------------------------------------------------------------


def test_rows_follow_the_precedence_of_one_hostname_group(make_router, twin):
    e = consistent(view(make_router, twin).explain("GET", "/nothing-matches-this", {},
                                                   host="other.org"))
    assert {r.hostname for r in e.rows} == {None}
    order = [(r.route, r.rule, r.match) for r in e.rows]
    assert order == [
        ("apps/api", 2, 0),  # Exact
        ("apps/api", 3, 0),  # PathPrefix /post: the longest prefix first
        ("apps/api", 0, 0),  # PathPrefix /api with method, header and query
        ("apps/api", 1, 0),  # PathPrefix /api
        ("apps/api", 3, 1),  # PathPrefix /q
        ("apps/api", 2, 2),  # PathPrefix / (header)
        ("apps/api", 2, 1),  # RegularExpression, after every prefix (Istio's order)
    ]
    assert e.winner is None and e.decision.status == 404


def test_regex_before_prefix_moves_the_regex_row(make_router, twin):
    v = make_router(CONFIG, twin, regex_precedence="before-prefix").gateway("gw", "infra")
    e = consistent(v.explain("GET", "/nothing", {}, host="other.org"))
    order = [(r.route, r.rule, r.match) for r in e.rows]
    assert order[:2] == [("apps/api", 2, 0), ("apps/api", 2, 1)]


HOSTS = gateway_yaml(listener_yaml("web"), name="gw") + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: ["a.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: PREFIX_A}}]
    backendRefs: [{name: a, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: ["*.example.com", "b.example.org"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: b, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: c, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - matches: [{path: {type: Exact, value: /api/x}}]
    backendRefs: [{name: c, port: 80}]
"""


def test_hostname_groups_rank_before_rule_precedence(make_router, twin):
    v = make_router(HOSTS.replace("PREFIX_A", "/"), twin).gateway("gw", "infra")
    e = consistent(v.explain("GET", "/api/x", host="a.example.com"))
    assert e.listener_reason == "catch-all listener (no hostname)"
    assert [(r.hostname, r.route) for r in e.rows] == [
        ("a.example.com", "apps/a"), ("*.example.com", "apps/b"), (None, "apps/c")]
    # the exact hostname wins over a longer prefix and over an Exact path of wider hostnames
    assert e.winner.route == "apps/a" and e.decision.backend.name == "a"
    assert [r.shadowed for r in e.rows] == [False, True, True]
    assert e.skipped_hostnames == ("b.example.org",)
    table = e.table()
    assert "(route hostnames not matching the host: b.example.org)" in table
    assert "(any)" in table


def test_a_request_falls_back_to_a_less_specific_hostname_group(make_router, twin):
    v = make_router(HOSTS.replace("PREFIX_A", "/web"), twin).gateway("gw", "infra")
    e = consistent(v.explain("GET", "/api/x", host="a.example.com"))
    assert [r.state for r in e.rows] == ["no match", "won", "not reached"]
    assert e.rows[0].reason == "path /api/x does not start with /web"
    assert e.decision.backend.name == "b"


def test_route_hostnames_the_host_does_not_match_are_listed(make_router, twin):
    e = consistent(view(make_router, twin).explain("GET", "/x", host="a.example.com"))
    assert e.listener == "wild"
    assert e.skipped_hostnames == ("shop.example.com",)
    assert {r.hostname for r in e.rows} == {"*.example.com"}


# --- listeners ------------------------------------------------------------------------------


@pytest.mark.parametrize("host,listener,reason", [
    ("shop.example.com", "shop", "exact hostname shop.example.com matches shop.example.com"),
    ("SHOP.example.com.:80", "shop", "exact hostname shop.example.com matches shop.example.com"),
    ("a.b.example.com", "wild", "wildcard hostname *.example.com matches a.b.example.com"),
    ("example.com", "any", "catch-all listener (no hostname)"),
    (None, "any", "catch-all listener (no hostname)"),
])
def test_the_listener_and_why(make_router, twin, host, listener, reason):
    e = consistent(view(make_router, twin).explain("GET", "/", host=host))
    assert e.listener == listener == e.decision.listener
    assert e.listener_reason == reason
    verdicts = {n.name: n.verdict for n in e.listeners}
    assert verdicts[listener] == "chosen"
    assert f"listener {listener}: {reason}" in str(e).splitlines()[0]


def test_the_host_header_is_used_without_host(make_router, twin):
    e = consistent(view(make_router, twin).explain("GET", "/", [("Host", "shop.example.com")]))
    assert e.listener == "shop" and e.host == "shop.example.com"
    verdicts = {n.name: n.verdict for n in e.listeners}
    assert verdicts == {"shop": "chosen", "wild": "matches, less specific",
                        "any": "matches, less specific"}


def test_no_listener_is_a_404_with_no_rows(make_router, twin):
    e = consistent(view(make_router, twin, port=8080).explain("GET", "/", host="other.org"))
    assert e.listener is None and e.rows == () and e.winner is None
    assert e.decision.status == 404 and e.decision.listener is None
    assert e.listener_reason.startswith("none: no listener hostname (only.example.org)")
    assert e.listener_reason.endswith("-> 404")
    text = str(e)
    assert "(no candidate rule matches)" in text
    assert text.splitlines()[-1] == "decision: 404 (no listener)"


def test_a_listener_with_no_matching_rule_is_a_404(make_router, twin):
    v = make_router(GATEWAY, twin).gateway("gw", "infra")
    e = consistent(v.explain("GET", "/", host="shop.example.com"))
    assert e.listener == "shop" and e.rows == ()
    assert str(e).splitlines()[-1] == "decision: 404 (no rule matched)"


# --- what the request looks like, and the footer ----------------------------------------------


def test_the_request_as_seen(make_router, twin):
    e = consistent(view(make_router, twin).explain(
        "GET", "http://Shop.Example.com:8000/a/%61pi/../api/x?q=1#frag"))
    assert (e.path, e.query, e.host, e.host_key) == ("/a/api/x", "q=1",
                                                     "Shop.Example.com:8000", "shop.example.com")
    assert "(path /a/api/x, query q=1)" in str(e).splitlines()[0]


def test_footer_of_a_redirect(make_router, twin):
    v = make_router(EXAMPLES / "edge.yaml", twin).gateway("edge", "infra")
    e = consistent(v.explain("GET", "/old/page?x=1", host="shop.example.com"))
    assert str(e).splitlines()[-1] == (
        "decision: 301 redirect to http://shop.example.com/new/page?x=1  [route store/shop rule 0]")


def test_mesh_view(make_router, twin):
    v = make_router(EXAMPLES / "reviews.yaml", twin).service("reviews", port=9080)
    e = consistent(v.explain("GET", "/reviews/1", {"my-favorite-service-mesh": "istio"}))
    assert e.mesh and e.listener is None and e.host_key == ""
    assert e.winner.rule == 0 and e.decision.backend.name == "reviews-v2"
    assert row(e, "default/reviews", 1).shadowed
    assert e.rows[0].text == "PathPrefix /  headers: my-favorite-service-mesh=istio"


def test_mesh_service_without_routes_for_this_client(make_router, twin):
    text = (EXAMPLES / "reviews.yaml").read_text()
    v = make_router(text, twin).service("ratings", port=9080)
    e = consistent(v.explain("GET", "/"))
    assert e.rows == () and e.decision.backend.name == "ratings"
    assert "no route for this client" in str(e).splitlines()[-1]


def test_to_dict_is_json_ready(make_router, twin):
    e = consistent(view(make_router, twin).explain("GET", "/api/x?v=2", {"x-canary": "true"},
                                                   host="a.example.com"))
    d = json.loads(json.dumps(e.to_dict()))
    assert d["winner"] == e.winner.position
    assert d["rows"][e.winner.position - 1]["state"] == "won"
    assert d["decision"]["route"] == "apps/api" and d["agrees"] is True
    assert d["listener"] == "wild"


# --- the command line -----------------------------------------------------------------------


def run(*args):
    return subprocess.run([sys.executable, "-m", "routecore", "explain", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("pure", [False, True])
def test_cli_explains_a_gateway_request(pure):
    r = run(str(EXAMPLES / "edge.yaml"), "--gateway", "infra/edge:80", "GET", "/api/x",
            "--host", "shop.example.com", "--seed", "1", *(["--pure"] if pure else []))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ("request: GET /api/x host shop.example.com | listener web: "
                        "wildcard hostname *.example.com matches shop.example.com")
    assert lines[1].split() == ["#", "route", "rule", "match", "condition", "hostname",
                                "result", "why", "not"]
    assert lines[3].split()[:6] == ["1", "store/shop", "0", "0", "PathPrefix", "/old"]
    assert lines[3].endswith("no match  path /api/x does not start with /old")
    assert lines[4].split() == ["2", "store/shop", "1", "0", "PathPrefix", "/api",
                                "shop.example.com", "WON"]
    assert lines[-1].startswith("decision: forward to store/api")
    assert lines[-1].endswith("path /x  [route store/shop rule 1]")


def test_cli_explains_a_mesh_request_with_headers():
    r = run(str(EXAMPLES / "reviews.yaml"), "--service", "default/reviews:9080", "GET",
            "/reviews/1", "-H", "My-Favorite-Service-Mesh: linkerd")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "mesh Service view" in out
    assert 'header my-favorite-service-mesh="linkerd" != "istio"' in out
    assert "WON" in out
    assert out.splitlines()[-1] == ("decision: forward to default/reviews-v1:9080 path "
                                    "/reviews/1  [route default/reviews rule 1]")


def test_cli_json():
    r = run(str(EXAMPLES / "edge.yaml"), "--gateway", "infra/edge", "GET", "/old/a?b=1",
            "--host", "shop.example.com", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["listener"] == "web" and d["winner"] == 1
    assert [row["state"] for row in d["rows"]] == ["won", "not reached"]
    assert d["decision"]["status"] == 301
    assert d["decision"]["location"] == "http://shop.example.com/new/a?b=1"


def test_cli_no_listener():
    r = run(str(EXAMPLES / "edge.yaml"), "--gateway", "infra/edge:80", "GET", "/",
            "--host", "example.org")
    assert r.returncode == 0, r.stderr
    assert "listener: none: no listener hostname (*.example.com) matches example.org -> 404" \
        in r.stdout
    assert r.stdout.splitlines()[-1] == "decision: 404 (no listener)"


def test_cli_names_an_unknown_view():
    r = run(str(EXAMPLES / "edge.yaml"), "--gateway", "infra/nope", "GET", "/")
    assert r.returncode == 2 and "no Gateway infra/nope" in r.stderr


TLS = gateway_yaml(
    listener_yaml("wild", 443, hostname="*.example.com", protocol="HTTPS"),
    listener_yaml("secure", 443, hostname="secure.example.com", protocol="HTTPS")) + """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: site, namespace: web}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: site, port: 80}]
"""


def test_an_sni_of_another_listener_is_explained_as_misdirected(make_router, twin):
    v = make_router(TLS, twin).gateway("edge", "infra", port=443)
    e = consistent(v.explain("GET", "/x", host="secure.example.com", sni="a.example.com"))
    assert e.listener == "secure" and e.rows == ()
    assert e.listener_reason == ("exact hostname secure.example.com matches secure.example.com; "
                                 "but SNI a.example.com selects listener wild -> 421 misdirected")
    assert e.decision.status == 421
    assert str(e).splitlines()[-1].startswith("decision: 421 (misdirected")
    e = consistent(v.explain("GET", "/x", host="secure.example.com", sni="secure.example.com"))
    assert e.winner.route == "web/site" and e.decision.status is None


def test_equal_paths_rank_by_method_then_headers_then_query_then_age(make_router, twin):
    text = GATEWAY + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: young, namespace: apps, creationTimestamp: "2024-05-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /p}
      queryParams: [{name: a, value: "1"}]
    - path: {type: PathPrefix, value: /p}
      headers: [{name: h, value: "1"}]
    - path: {type: PathPrefix, value: /p}
      method: PUT
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: old, namespace: apps, creationTimestamp: "2020-05-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /p}
      queryParams: [{name: a, value: "1"}]
"""
    v = make_router(text, twin).gateway("gw", "infra")
    e = consistent(v.explain("GET", "/p?a=1", {"h": "2"}, host="x.org"))
    assert [(r.route, r.match) for r in e.rows] == [
        ("apps/young", 2), ("apps/young", 1), ("apps/old", 0), ("apps/young", 0)]
    assert [r.reason for r in e.rows[:2]] == ["method GET != PUT", 'header h="2" != "1"']
    assert e.winner.route == "apps/old" and e.rows[-1].shadowed
