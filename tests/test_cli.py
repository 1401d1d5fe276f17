"""routecore._cli.main: `routecore check` and `routecore route`, run as a real subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from builders import documents, gateway_yaml, httproute_yaml, listener_yaml

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
    assert all(l.startswith(f"{tmp_path / 'broken.yaml'}:") and
               ": error: HTTPRoute default/reviews: spec." in l for l in lines), r.stdout


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


# --- check: warnings, levels, exit codes, sources (issue 11, items 9 and 10) ----------------------

API = "[{backendRefs: [{name: api, port: 80}]}]"
UNROUTED = documents(
    gateway_yaml(listener_yaml("web", hostname="*.example.com", from_=None)),
    httproute_yaml("ghost", "infra", "[{name: nowhere}]", API),
    httproute_yaml("outsider", "store", "[{name: edge, namespace: infra}]", API),
    httproute_yaml("elsewhere", "infra", "[{name: edge}]", API, hostnames="[shop.other.org]"),
    httproute_yaml("section", "infra", "[{name: edge, sectionName: https}]", API),
    httproute_yaml("crossing", "infra", "[{name: edge}]",
                   "\n  - backendRefs: [{name: api, port: 80}]"
                   "\n  - backendRefs: [{name: api, port: 80}, {name: db, namespace: data, port: 80}]"),
    """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: infra}
spec: {ports: [{port: 80}]}
""", """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec: {ports: [{port: 80}]}
""",
    httproute_yaml("missing-backend", "infra", "[{name: edge}]", "[{backendRefs: [{name: apii, port: 80}]}]"))


def _check_json(*args, stdin=None):
    r = subprocess.run([sys.executable, "-m", "routecore", "check", "-o", "json", *args],
                       capture_output=True, text=True, timeout=60, input=stdin)
    return r, json.loads(r.stdout) if r.stdout.strip() else None


def test_check_warns_about_routes_that_route_nothing(tmp_path):
    f = tmp_path / "unrouted.yaml"
    f.write_text(UNROUTED)
    r, found = _check_json(str(f))
    assert r.returncode == 0, r.stderr
    assert all(x["level"] == "warning" and x["file"] == str(f) for x in found)
    by = {(x["name"], x["path"]): x for x in found}
    lines = UNROUTED.splitlines()

    def at(x):
        return lines[x["line"] - 1][x["column"] - 1:]

    ghost = by[("ghost", "spec.parentRefs[0].name")]
    assert "NoMatchingParent" in ghost["message"] and "infra/nowhere" in ghost["message"]
    assert at(ghost) == "nowhere}]"
    outsider = by[("outsider", "spec.parentRefs[0]")]
    assert "NotAllowedByListeners" in outsider["message"] and outsider["namespace"] == "store"
    assert "NoMatchingListenerHostname" in by[("elsewhere", "spec.hostnames")]["message"]
    assert at(by[("section", "spec.parentRefs[0].sectionName")]) == "https}]"
    crossing = by[("crossing", "spec.rules[1].backendRefs[1]")]
    assert "RefNotPermitted" in crossing["message"] and "data/db" in crossing["message"]
    assert at(crossing) == "{name: db, namespace: data, port: 80}]"
    assert "BackendNotFound" in by[("missing-backend", "spec.rules[0].backendRefs[0]")]["message"]
    assert len(found) == 7, found  # and store/api, the outsider's backend, is not a Service
    assert set(found[0]) == {"level", "kind", "namespace", "name", "path", "message", "file",
                             "line", "column"}
    # text output: file:line:column: level: object: path: message; --strict fails with 3
    r = run("check", str(f))
    assert r.returncode == 0 and "0 error(s), 7 warning(s)" in r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{f}:{ghost['line']}:{ghost['column']}: warning: HTTPRoute infra/ghost: "
                            "spec.parentRefs[0].name: not accepted by Gateway infra/nowhere")
    assert run("check", "--strict", str(f)).returncode == 3


def test_check_errors_stay_errors_and_exit_1(tmp_path):
    text = UNROUTED.replace("port: 80}]}]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                            "metadata: {name: outsider", "port: 0}]}]\n---\napiVersion: "
                            "gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: outsider", 1)
    r, found = _check_json("-", stdin=text)
    assert r.returncode == 1
    assert [(x["level"], x["name"], x["path"], x["file"]) for x in found] == [
        ("error", "ghost", "spec.rules[0].backendRefs[0].port", "<stdin>")]
    assert run("check", "--strict", "--text", text).returncode == 1


def test_check_of_the_examples_is_clean_even_when_strict():
    r = run("check", "--strict", str(EXAMPLES))
    assert r.returncode == 0 and r.stdout.startswith("ok: 3 object(s)"), r.stdout + r.stderr


def test_check_reads_stdin_and_text_only_when_asked(tmp_path):
    text = (EXAMPLES / "reviews.yaml").read_text()
    r = subprocess.run([sys.executable, "-m", "routecore", "check", "-"], input=text,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("ok: 1 object(s)"), r.stdout + r.stderr
    assert run("check", "--text", text).stdout.startswith("ok: 1 object(s)")
    # a YAML text or a mistyped path as a PATH argument is never read as YAML
    r = run("check", "kind: Namespace")
    assert r.returncode == 2 and r.stderr.strip() == "routecore: no such file: kind: Namespace"
    r = run("check", str(tmp_path / "typo.yaml"))
    assert r.returncode == 2 and r.stderr.strip() == f"routecore: no such file: {tmp_path / 'typo.yaml'}"
    r = run("route", "kind: Namespace", "--gateway", "a/b", "GET", "/")
    assert r.returncode == 2 and "no such file: kind: Namespace" in r.stderr


def test_check_warns_about_nothing_to_check(tmp_path):
    r = subprocess.run([sys.executable, "-m", "routecore", "check", "-"], input="",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "<stdin>: warning: no Kubernetes objects (nothing to check)\n"
    (tmp_path / "notes.txt").write_text("kind: Namespace\n")
    r = run("check", "--strict", str(tmp_path))
    assert r.returncode == 3
    assert r.stdout == f"{tmp_path}: warning: no .yaml, .yml or .json file in this folder\n"
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    r = run("check", str(tmp_path))
    assert r.returncode == 0 and "no Kubernetes objects" in r.stdout
    assert run("check").returncode == 2


# --- --version, pipes, missing extras (issue 11, items 8 and 12) ----------------------------------


def test_version():
    from routecore import NATIVE, __version__

    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"routecore {__version__} ({'native core' if NATIVE else 'pure-Python twin'})"


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    # a real pipe, closed by its reader after one line, as `| head -1` does
    big = "".join(f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r{i}, namespace: ns}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: api, port: 0}}]}}]
""" for i in range(3000))
    (tmp_path / "big.yaml").write_text(big)
    proc = subprocess.Popen([sys.executable, "-m", "routecore", "check", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert b"HTTPRoute ns/r0: spec.rules[0].backendRefs[0].port" in first
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


def _without(modules, *args, finder=False):
    """`python -m routecore ARGS` with ``modules`` missing (set to None in sys.modules)."""
    shim = (f"import sys, runpy\nfor m in {list(modules)!r}: sys.modules[m] = None\n"
            f"sys.argv = ['routecore', *{list(args)!r}]\n"
            "runpy.run_module('routecore', run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", shim], capture_output=True, text=True, timeout=60)


def test_serve_without_its_extra_says_which_extra():
    # the serve engine's dependencies are missing when its module is imported
    blocked = ["httptools", "prometheus_client", "uvicorn", "httpx"]
    shim = ("import sys, runpy, importlib.abc\n"
            f"for m in {blocked!r}: sys.modules[m] = None\n"
            "class Engine(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'routecore._serve.proxy':\n"
            "            import httptools  # what the engine imports first\n"
            "sys.meta_path.insert(0, Engine())\n"
            f"sys.argv = ['routecore', 'serve', {str(EXAMPLES / 'edge.yaml')!r}, '--gateway', 'infra/edge:80']\n"
            "runpy.run_module('routecore', run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", shim], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "routecore: routecore serve needs httptools: pip install 'routecore[serve]'\n"


def test_testing_without_hypothesis_names_the_testing_extra():
    code = ("import sys\nsys.modules['hypothesis'] = None\n"
            "try:\n import routecore.testing\nexcept ImportError as e:\n print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout == ("ImportError routecore.testing needs hypothesis: "
                        "pip install 'routecore[testing]'\n"), r.stdout + r.stderr


def test_check_reports_unreadable_files_and_reads_the_others(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    good = tmp_path / "good.yaml"
    good.write_text((EXAMPLES / "reviews.yaml").read_text().replace("port: 9080\n  rules",
                                                                     "port: 99999\n  rules"))
    r, found = _check_json(str(tmp_path / "bad.yaml"), str(good))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert [(x["level"], x["file"], x["line"]) for x in found][:1] == [
        ("error", str(tmp_path / "bad.yaml"), 2)]
    assert "invalid YAML" in found[0]["message"]
    assert [x["path"] for x in found[1:]] == ["spec.parentRefs[0].port"]
