"""Dump the decision of every request of every bench workload and every ``examples/`` config, on
both twins, as JSON lines: run it under two versions of routecore and diff the outputs to show
that a change leaves every decision as it was.

    python bench/compare_decisions.py OUT.jsonl [--examples DIR] [--sizes 10,100,1000,10000]

One line per decision: ``{"case": ..., "view": ..., "twin": ..., "i": ..., "request": ...,
"decision": decision.to_dict()}`` (a view that cannot be built or a request that raises gives
``"error"`` instead). The requests of a workload are its own (``workloads.py``); those of an
example config are built from its objects as written (hostnames, path values and what lies just
beside them, header and query matches, methods, CORS preflights), so they are the same whatever
version of routecore reads them. Only the public API is used (``routecore.load``, ``Router``,
``router.gateway/service``, ``view.route``, ``Decision.to_dict``), which 1cbacb2 has too.

Run it with this file's directory first on ``sys.path`` (it is, when run as a script), so both
versions read the same ``workloads.py``.
"""
import itertools
import json
import sys
from pathlib import Path

import yaml

import routecore

import workloads

HERE = Path(__file__).resolve().parent


def _twins():
    try:  # (public API only: the module that holds the native twin differs between versions)
        routecore.Router(routecore.load([]), native=True)
    except RuntimeError:
        return [False]
    return [False, True]


def _dump(out, case, view_key, router_for, requests):
    for native in _twins():
        twin = "native" if native else "pure"
        try:
            view = router_for(native)
        except Exception as exc:  # noqa: BLE001 - recorded, compared like a decision
            out.write(json.dumps({"case": case, "view": view_key, "twin": twin,
                                  "error": f"{type(exc).__name__}: {exc}"}) + "\n")
            continue
        for i, (method, target, headers, host) in enumerate(requests):
            line = {"case": case, "view": view_key, "twin": twin, "i": i,
                    "request": [method, target, headers, host]}
            try:
                line["decision"] = view.route(method, target, headers, host=host).to_dict()
            except Exception as exc:  # noqa: BLE001
                line["error"] = f"{type(exc).__name__}: {exc}"
            out.write(json.dumps(line, sort_keys=True, default=repr) + "\n")


def _workload_cases(out, sizes):
    for name, make in sorted(workloads.WORKLOADS.items()):
        for n in sizes:
            wl = make(n)
            config = routecore.load(wl.objects)
            _dump(out, f"{name}-{n}", wl.view,
                  lambda native: wl.bind(routecore.Router(config, seed=1, native=native)),
                  [(m, t, list(h), host) for m, t, h, host in wl.requests])


# --- requests for an example config, from its objects as written --------------------------------

def _hosts(objs):
    hosts = {None, "unknown.example.org"}
    for o in objs:
        spec = o.get("spec") or {}
        names = list(spec.get("hostnames") or ())
        names += [li.get("hostname") for li in spec.get("listeners") or () if li.get("hostname")]
        for h in names:
            hosts.add(h.replace("*", "any") if h.startswith("*") else h)
            if h.startswith("*"):
                hosts.add(h.replace("*", "a.b"))
    return sorted(hosts, key=lambda h: (h is not None, h or ""))


def _matches(objs):
    paths, headers, queries, methods, origins = {"/", "/nothing/here"}, set(), set(), {"GET", "POST"}, set()
    for o in objs:
        for rule in (o.get("spec") or {}).get("rules") or ():
            for m in rule.get("matches") or ():
                p = (m.get("path") or {}).get("value")
                if p and (m.get("path") or {}).get("type") != "RegularExpression":
                    paths.update({p, p.rstrip("/") + "/x", p + "x", p.rstrip("/") + "/"})
                for h in m.get("headers") or ():
                    headers.add((h["name"], h["value"]))
                for q in m.get("queryParams") or ():
                    queries.add((q["name"], q["value"]))
                if m.get("method"):
                    methods.add(m["method"])
            for f in rule.get("filters") or ():
                origins.update((f.get("cors") or {}).get("allowOrigins") or ())
    return sorted(paths), sorted(headers), sorted(queries), sorted(methods), sorted(origins)


def _example_requests(objs):
    paths, headers, queries, methods, origins = _matches(objs)
    hosts = _hosts(objs)
    out = []
    for host, path, method in itertools.product(hosts, paths, methods):
        out.append((method, path, [], host))
    for host, path in itertools.product(hosts, paths):
        for name, value in headers:
            out.append(("GET", path, [(name, value)], host))
            out.append(("GET", path, [(name, value + "-not")], host))
        for name, value in queries:
            out.append(("GET", f"{path}?{name}={value}", [], host))
        for origin in origins:
            origin = origin.replace("*", "a")
            out.append(("OPTIONS", path, [("origin", origin), ("access-control-request-method", "GET")], host))
            out.append(("GET", path, [("origin", origin)], host))
    return out


def _views(objs):
    out = []
    clients = sorted({(o.get("metadata") or {}).get("namespace", "default") for o in objs}) + [None]
    for o in objs:
        meta, spec = o.get("metadata") or {}, o.get("spec") or {}
        ns = meta.get("namespace", "default")
        if o.get("kind") == "Gateway":
            for port in sorted({li["port"] for li in spec.get("listeners") or ()}):
                out.append(("gateway", meta["name"], ns, port))
        elif o.get("kind") == "Service":
            for p in spec.get("ports") or ():
                for client in clients:
                    out.append(("service", meta["name"], ns, p["port"], client))
    if not any(o.get("kind") == "Service" for o in objs):  # mesh parents without Service objects
        for o in objs:
            for ref in (o.get("spec") or {}).get("parentRefs") or ():
                if ref.get("kind") == "Service" and ref.get("group", None) == "":
                    ns = ref.get("namespace") or (o.get("metadata") or {}).get("namespace", "default")
                    key = ("service", ref["name"], ns, ref.get("port", 80), None)
                    if key not in out:
                        out.append(key)
    return out


def _example_cases(out, folder):
    for path in sorted(Path(folder).glob("*.yaml")):
        objs = [o for o in yaml.safe_load_all(path.read_text()) if o]
        config = routecore.load(path)
        requests = _example_requests(objs)
        for key in _views(objs):
            getter = key[0]

            def router_for(native, key=key, getter=getter):
                return getattr(routecore.Router(config, seed=1, native=native), getter)(*key[1:])
            _dump(out, path.name, list(key), router_for, requests)


def main(argv):
    target = argv[0]
    examples = HERE.parent / "examples"
    sizes = workloads.SIZES
    if "--examples" in argv:
        examples = Path(argv[argv.index("--examples") + 1])
    if "--sizes" in argv:
        sizes = tuple(int(s) for s in argv[argv.index("--sizes") + 1].split(","))
    with open(target, "w") as out:
        _workload_cases(out, sizes)
        _example_cases(out, examples)


if __name__ == "__main__":
    main(sys.argv[1:])
