"""Golden files: the compiled table of each view and router.status(), for whole configurations.

Each tests/golden/NAME.in.yaml holds Kubernetes ``objects``, the ``views`` to compile with the
``requests`` to send through each, and optionally ``strict`` (for load) and ``router`` (Router
keyword arguments; seed defaults to 1). NAME.out.yaml holds, per view and request, the candidate
matches of the compiled table in precedence order as routing tries them (``view.explain`` rows:
position, route, rule, match, condition, hostname group, result) and the decision's
``to_dict()``; then ``router.status(...)`` of every Gateway and route in the input (rejected
ones included), and under ``strict: false`` the issues load reported. Both twins must produce the same output, equal to the file.

Regenerate after an intended change, then read the diff:
``ROUTECORE_REGEN_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""
import os
from pathlib import Path

import pytest
import yaml

import routecore
from routecore import _match

GOLDEN = Path(__file__).resolve().parent / "golden"
INPUTS = sorted(GOLDEN.glob("*.in.yaml"))
REGEN = os.environ.get("ROUTECORE_REGEN_GOLDEN", "") not in ("", "0")


def _view(router, spec: str):
    """ "gateway NS/NAME:PORT" or "service NS/NAME:PORT [client=NS]" -> the view."""
    kind, _, rest = spec.partition(" ")
    ref, _, client = rest.partition(" client=")
    ns_name, _, port = ref.rpartition(":")
    namespace, _, name = ns_name.partition("/")
    if kind == "gateway":
        return router.gateway(name, namespace, int(port))
    assert kind == "service", spec
    return router.service(name, namespace, int(port), client_namespace=client or None)


def _request_line(req: dict) -> str:
    line = f"{req.get('method', 'GET')} {req['target']}"
    for key in ("host", "sni", "scheme"):
        if req.get(key) is not None:
            line += f" {key}={req[key]}"
    for name, value in (req.get("headers") or {}).items():
        line += f" {name}: {value}"
    return line


def _candidate(row) -> str:
    result = "WON" if row.won else ("shadowed" if row.shadowed else row.state)
    rule = f"{row.rule} ({row.rule_name})" if row.rule_name else str(row.rule)
    return (f"{row.position} {row.route} rule {rule} match {row.match}: {row.text}"
            f" | host {row.hostname or '(any)'} | {result}")


def render(case: dict, native: bool) -> dict:
    """The golden output of one input, from one twin."""
    config = routecore.load(case["objects"], strict=case.get("strict", True))
    router = routecore.Router(config, native=native, **{"seed": 1, **case.get("router", {})})
    views = {}
    for spec in case["views"]:
        view, out = _view(router, spec["view"]), []
        for req in spec["requests"]:
            kw = {k: req[k] for k in ("host", "sni", "scheme") if req.get(k) is not None}
            args = (req.get("method", "GET"), req["target"], req.get("headers") or ())
            explanation = view.explain(*args, **kw)
            decision = view.route(*args, **kw)
            out.append({"request": _request_line(req),
                        "candidates": [_candidate(r) for r in explanation.rows],
                        "decision": decision.to_dict()})
        views[spec["view"]] = out
    status = {}
    for gw in config.gateways:
        status[f"Gateway {gw.namespace}/{gw.name}"] = router.status("Gateway", gw.namespace, gw.name)
    for r in sorted([*config.routes, *config.rejected], key=lambda r: (r.kind, r.namespace, r.name)):
        status[f"{r.kind} {r.namespace}/{r.name}"] = router.status(r.kind, r.namespace, r.name)
    return {"issues": [str(i) for i in config.issues], "views": views, "status": status}


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=110,
                          allow_unicode=True)


def test_there_are_golden_inputs():
    assert len(INPUTS) >= 4, INPUTS


@pytest.mark.parametrize("path", INPUTS, ids=[p.name[:-len(".in.yaml")] for p in INPUTS])
def test_golden(path):
    case = yaml.safe_load(path.read_text())
    outputs = [render(case, native=False)]
    if _match.NATIVE:
        outputs.append(render(case, native=True))
    text = _dump(outputs[0])
    assert all(_dump(o) == text for o in outputs[1:]), "the twins disagree"
    out = path.with_name(path.name.replace(".in.yaml", ".out.yaml"))
    if REGEN:
        out.write_text(text)
    assert out.exists(), f"{out.name} missing: run with ROUTECORE_REGEN_GOLDEN=1"
    assert out.read_text() == text, f"{out.name} differs (ROUTECORE_REGEN_GOLDEN=1 rewrites it)"
