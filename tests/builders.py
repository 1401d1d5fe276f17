"""Kubernetes objects as a user writes them, in a few words: the tests' object-builder DSL.

Build configurations from small functions that return the plain dicts ``routecore.load`` takes,
and read decisions and status back in the spec's terms::

    objs = [gateway("plain", listener("web", 80), ns=APPS),
            httproute("m", [gw_ref("plain", APPS)],
                      [rule(be("svc-a"), matches=[prefix("/v2", headers=[hdr("version", "two")])])])]
    view = routecore.Router(routecore.load(objs)).gateway("plain", APPS, 80)
    assert outcome(view.route("GET", "/v2")) == "svc-a"

Objects: ``gateway(name, *listeners, ns=)`` with ``listener(name, port, hostname=, from_=,
protocol=, kinds=, selector=, tls=)``; ``httproute(name, parents, rules, ns=, hostnames=,
created=)`` with parents ``gw_ref(gateway, ns, section=, port=)`` (a Gateway) or
``svc_ref(service, ns, port=, section=)`` (a mesh Service); rules ``rule(*backends, matches=,
filters=, **other_fields)`` with backends ``be(name, port, ns=, weight=, **other_fields)``,
matches ``prefix(value, **more)``/``exact(value, **more)`` (``headers=[hdr(n, v)]``,
``queryParams=[qp(n, v)]``), filters ``header_mod(kind, set_=, add=, remove=)``,
``redirect(**body)``, ``rewrite(**body)``, ``mirror(backend, **extra)``; ``service(name, ns,
*ports)``, ``namespace(name, **labels)``, ``grant(name, ns, from_ns=, ...)`` (ReferenceGrant).
Namespaces: INFRA (Gateways), APPS and OTHER (applications), MESH (mesh producers), CONSUMER.

Reading: ``name_of(d)`` (the backend's name), ``outcome(d)`` (the backend's name when
forwarded, else the status), ``folded(pairs)`` (headers as a lower-case dict),
``conditions(router, route, ns, parent=)`` ({type: (status, reason)}), ``no_accepted_parent``,
``attached(router, gateway, ns)`` (attachedRoutes per listener), ``shares(view, n, ...)``
(the fraction of n requests per outcome).

YAML text (for tests that read configurations as a user writes files):
``gateway_yaml(*listeners, name="edge", ns="infra")`` is one Gateway document, listeners being
``listener_yaml(name, port, hostname=, protocol=, from_=)`` flow mappings (default: one HTTP
listener "web" on port 80 taking routes from every namespace); join documents with ``"---"``.
"""
from collections import Counter

GWAPI = "gateway.networking.k8s.io/v1"

INFRA = "edge-infra"      # where the Gateways live
APPS = "storefront"       # an application namespace
OTHER = "billing"         # a second application namespace
MESH = "mesh-app"         # mesh producer namespace
CONSUMER = "mesh-client"  # mesh consumer namespace


# --- object builders (Kubernetes objects as a user writes them) -------------------------------

def listener(name, port=80, *, hostname=None, from_="Same", protocol="HTTP", kinds=None,
             selector=None, tls=None):
    ns = {"from": from_}
    if selector is not None:
        ns["selector"] = {"matchLabels": selector}
    out = {"name": name, "port": port, "protocol": protocol, "allowedRoutes": {"namespaces": ns}}
    if hostname is not None:
        out["hostname"] = hostname
    if kinds is not None:
        out["allowedRoutes"]["kinds"] = [{"kind": k} for k in kinds]
    if tls is not None:
        out["tls"] = tls
    elif protocol == "HTTPS":
        out["tls"] = {"mode": "Terminate",
                      "certificateRefs": [{"group": "", "kind": "Secret", "name": "edge-cert"}]}
    return out


def gateway(name, *listeners, ns=INFRA):
    return {"apiVersion": GWAPI, "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": "routecore", "listeners": list(listeners)}}


def gw_ref(name, ns=INFRA, *, section=None, port=None):
    ref = {"name": name, "namespace": ns}
    if section is not None:
        ref["sectionName"] = section
    if port is not None:
        ref["port"] = port
    return ref


def svc_ref(name, ns=None, *, port=None, section=None):
    ref = {"group": "", "kind": "Service", "name": name}
    if ns is not None:
        ref["namespace"] = ns
    if port is not None:
        ref["port"] = port
    if section is not None:
        ref["sectionName"] = section
    return ref


def httproute(name, parents, rules, *, ns=APPS, hostnames=None, created=None):
    meta = {"name": name, "namespace": ns}
    if created is not None:
        meta["creationTimestamp"] = created
    spec = {"parentRefs": list(parents), "rules": list(rules)}
    if hostnames is not None:
        spec["hostnames"] = list(hostnames)
    return {"apiVersion": GWAPI, "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def be(name, port=8080, *, ns=None, weight=None, **extra):
    ref = {"name": name, "port": port}
    if ns is not None:
        ref["namespace"] = ns
    if weight is not None:
        ref["weight"] = weight
    ref.update(extra)
    return ref


def rule(*backends, matches=None, filters=None, **extra):
    out = {}
    if matches is not None:
        out["matches"] = list(matches)
    if filters is not None:
        out["filters"] = list(filters)
    if backends:
        out["backendRefs"] = list(backends)
    out.update(extra)
    return out


def prefix(value, **more):
    return dict(path={"type": "PathPrefix", "value": value}, **more)


def exact(value, **more):
    return dict(path={"type": "Exact", "value": value}, **more)


def hdr(name, value):
    return {"name": name, "value": value}


def qp(name, value):
    return {"name": name, "value": value}


def service(name, ns, *ports):
    """A core Service; ports are ints or (name, port) pairs."""
    plist = []
    for p in ports or (8080,):
        pname, pnum = p if isinstance(p, tuple) else (f"p{p}", p)
        plist.append({"name": pname, "port": pnum, "protocol": "TCP"})
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": plist}}


def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


def grant(name, ns, *, from_ns, from_group="gateway.networking.k8s.io", from_kind="HTTPRoute",
          to_group="", to_kind="Service", to_name=None):
    to = {"group": to_group, "kind": to_kind}
    if to_name is not None:
        to["name"] = to_name
    return {"apiVersion": GWAPI, "kind": "ReferenceGrant",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"from": [{"group": from_group, "kind": from_kind, "namespace": from_ns}],
                     "to": [to]}}


def header_mod(kind, *, set_=(), add=(), remove=()):
    body = {}
    if set_:
        body["set"] = [hdr(n, v) for n, v in set_]
    if add:
        body["add"] = [hdr(n, v) for n, v in add]
    if remove:
        body["remove"] = list(remove)
    key = kind[0].lower() + kind[1:]
    return {"type": kind, key: body}


def redirect(**body):
    return {"type": "RequestRedirect", "requestRedirect": body}


def rewrite(**body):
    return {"type": "URLRewrite", "urlRewrite": body}


def mirror(backend, **extra):
    return {"type": "RequestMirror", "requestMirror": dict(backendRef=backend, **extra)}


# --- reading decisions and status ------------------------------------------------------------

def name_of(d):
    return None if d.backend is None else d.backend.name


def outcome(d):
    """The backend name when forwarded, else the status code answered."""
    return name_of(d) if d.status is None else d.status


def folded(pairs):
    """Header pairs as a dict: lower-case name -> values of that name joined with ','."""
    out = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = value if key not in out else out[key] + "," + value
    return out


def conditions(router, name, ns=APPS, parent=None):
    """{type: (status, reason)} for one parent of an HTTPRoute (the only one, or by Gateway name)."""
    parents = router.status("HTTPRoute", ns, name)["parents"]
    if parent is not None:
        parents = [p for p in parents if p["parentRef"]["name"] == parent]
    assert len(parents) == 1, parents
    return {c["type"]: (c["status"], c["reason"]) for c in parents[0]["conditions"]}


def no_accepted_parent(router, name, ns=APPS):
    parents = router.status("HTTPRoute", ns, name)["parents"]
    return not any(c["type"] == "Accepted" and c["status"] == "True"
                   for p in parents for c in p["conditions"])


def attached(router, gw_name, ns=INFRA):
    return {l["name"]: l["attachedRoutes"]
            for l in router.status("Gateway", ns, gw_name)["listeners"]}


def shares(view, n, *args, **kw):
    counts = Counter(outcome(view.route(*args, **kw)) for _ in range(n))
    return {k: v / n for k, v in counts.items()}


# --- the same as YAML text ---------------------------------------------------------------------

def listener_yaml(name="web", port=80, *, hostname=None, protocol="HTTP", from_="All"):
    """One listener as a YAML flow mapping; ``from_=None`` leaves allowedRoutes out (Same)."""
    out = f"{{name: {name}, port: {port}, protocol: {protocol}"
    if hostname is not None:
        out += f', hostname: "{hostname}"'
    if from_ is not None:
        out += f", allowedRoutes: {{namespaces: {{from: {from_}}}}}"
    return out + "}"


def gateway_yaml(*listeners, name="edge", ns="infra", class_name="routecore"):
    """One Gateway document as YAML text (no leading or trailing ``---``)."""
    items = "".join(f"  - {lis}\n" for lis in listeners or (listener_yaml(),))
    return (f"\napiVersion: {GWAPI}\nkind: Gateway\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  gatewayClassName: {class_name}\n  listeners:\n{items}")


def httproute_yaml(name, ns, parent_refs, rules, *, hostnames=None):
    """One HTTPRoute document as YAML text; ``parent_refs``, ``rules`` and ``hostnames`` are YAML
    flow sequences (``"[{name: edge}]"``) or, for ``rules``, block lines starting with a newline,
    written as they are."""
    out = (f"\napiVersion: {GWAPI}\nkind: HTTPRoute\nmetadata: {{name: {name}, namespace: {ns}}}\n"
           f"spec:\n  parentRefs: {parent_refs}\n")
    if hostnames is not None:
        out += f"  hostnames: {hostnames}\n"
    return out + f"  rules: {rules}\n"


def documents(*docs):
    """YAML documents joined by ``---``."""
    return "---".join(docs)
