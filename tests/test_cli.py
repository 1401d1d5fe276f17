"""routecore._cli: `routecore check` and `routecore route`, run as a real subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args):
    return subprocess.run([sys.executable, "-m", "routecore", *args], capture_output=True,
                          text=True, timeout=60)


def test_check_accepts_the_bundled_examples():
    r = run("check", str(EXAMPLES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok:")


def test_check_prints_every_issue_and_exits_1(tmp_path):
    text = (EXAMPLES / "reviews.yaml").read_text()
    broken = text.replace("      requestHeaderModifier:\n        add:", "      requestHeaderModifier:\n      add:")
    broken = broken.replace("port: 9080\n  rules", "port: 99999\n  rules")
    (tmp_path / "broken.yaml").write_text(broken)
    r = run("check", str(tmp_path))
    assert r.returncode == 1
    lines = [l for l in r.stdout.splitlines() if l]
    assert any("spec.rules[0].filters[0]" in l for l in lines), r.stdout
    assert any("spec.parentRefs[0].port" in l for l in lines), r.stdout
    assert all(l.startswith("HTTPRoute default/reviews") for l in lines)


@pytest.mark.parametrize("pure", [False, True])
def test_route_prints_the_decision_as_json(pure):
    args = ["route", str(EXAMPLES / "reviews.yaml"), "--service", "default/reviews:9080",
            "GET", "/reviews/1", "-H", "My-Favorite-Service-Mesh: istio"]
    r = run(*args, *(["--pure"] if pure else []))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["backend"]["name"] == "reviews-v2"
    assert out["route"] == "default/reviews" and out["rule"] == 0
    assert ["hello", "world"] in out["request_headers"]


def test_route_on_a_gateway_redirects():
    r = run("route", str(EXAMPLES / "edge.yaml"), "--gateway", "infra/edge:80", "GET",
            "/old/x?y=1", "--host", "shop.example.com")
    out = json.loads(r.stdout)
    assert out["status"] == 301 and out["location"] == "http://shop.example.com/new/x?y=1"


def test_route_names_an_unknown_view():
    r = run("route", str(EXAMPLES / "edge.yaml"), "--gateway", "infra/nope", "GET", "/")
    assert r.returncode == 2 and "no Gateway infra/nope" in r.stderr


def test_route_needs_a_service_port():
    r = run("route", str(EXAMPLES / "reviews.yaml"), "--service", "default/reviews", "GET", "/")
    assert r.returncode == 2 and "NS/NAME:PORT" in r.stderr
