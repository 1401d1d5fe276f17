"""The _config layers: which rule an issue belongs to is an integer recorded while validating."""
import routecore
from routecore._config import kinds, kinds_l4, models as m, schema

ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: svc, kind: Service, group: "", port: 80}]
  rules:
  - backendRefs: [{name: a, port: 80}]
  - matches:
    - path: {type: Exact, value: /x}
      path: {type: Exact, value: /y}
    backendRefs: [{name: b, port: 80}]
  - backendRefs: [{name: c, port: 80}]
"""


def test_duplicate_key_in_a_rule_drops_that_rule_only():
    config = routecore.load(ROUTE, strict=False)
    (route,) = config.routes
    assert route.rule_indexes == (0, 2)
    assert [i.path for i in config.issues] == ["spec.rules[1].matches[0].path"]


def test_duplicate_key_in_a_list_item_keeps_its_rule_index():
    text = "apiVersion: v1\nkind: List\nitems:\n- " + ROUTE.replace("\n", "\n  ")
    (route,) = routecore.load(text, strict=False).routes
    assert route.rule_indexes == (0, 2)


def test_locate_names_tracked_items():
    top = kinds.KINDS["HTTPRoute"][1]
    assert schema.locate(top, ("spec", "rules", 3, "matches", 0)) == {"rule": 3}
    assert schema.locate(top, ("spec", "parentRefs", 1, "name")) == {"parentRef": 1}
    assert schema.locate(top, ("spec", "hostnames", 0)) == {}
    assert schema.locate(top, ("spec", "rules")) == {}


def test_issues_record_the_rule_index_while_walking():
    ctx = schema.Ctx()
    spec = kinds.KINDS["HTTPRoute"][1]
    spec.walk({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
               "metadata": {"name": "r"},
               "spec": {"rules": [{}, {"matches": [{"path": {"value": "x"}}]}]}}, "", ctx)
    assert [(p, where) for p, _, _, where in ctx.issues] == [("spec.rules[1].matches[0].path.value", {"rule": 1})]


def _declared_models():
    """Every Obj under the kinds' declarations that builds a model."""
    seen, out, todo = set(), [], [kinds.RULE, kinds.GRPC_RULE] + [top for _, top in (*kinds.KINDS.values(), *kinds_l4.KINDS.values())]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, schema.Arr):
            todo.append(node.item)
        elif isinstance(node, schema.Obj):
            if node.model is not None:
                out.append(node)
            todo.extend(f.schema for f in node.fields.values())
    return out


def _filled(obj):
    """The model attributes an Obj's fields and derivations fill, its inline fields' included."""
    out = [a for a, _ in obj.derived]
    for f in obj.fields.values():
        out += _filled(f.schema) if f.inline else [f.attr] if f.attr else []
    return out


def test_each_declared_model_attribute_comes_from_one_field_or_derivation():
    import attrs
    declared = _declared_models()
    assert {o.model.__name__ for o in declared} >= {
        "Rule", "RouteMatch", "HeaderMatch", "QueryParamMatch", "BackendRef", "HeaderModifier",
        "PathModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "CORS", "ExtensionRef", "Timeouts",
        "Retry", "GRPCRouteMatch", "GRPCMethodMatch", "HTTPRoute", "GRPCRoute", "ParentRef", "LabelSelector",
        "LabelSelectorRequirement", "RouteGroupKind", "ReferenceGrant", "ReferenceGrantFrom", "ReferenceGrantTo",
        "Service", "ServicePort", "Namespace"}
    for obj in declared:
        filled = _filled(obj)
        names = {a.name for a in attrs.fields(obj.model)}
        assert len(filled) == len(set(filled)), obj.model
        assert set(filled) <= names, (obj.model, set(filled) - names)
        required = {a.name for a in attrs.fields(obj.model) if a.default is attrs.NOTHING}
        assert required <= set(filled), (obj.model, required - set(filled))


def test_top_level_kinds_are_built_by_their_declaration():
    """metadata and spec fill the top-level model inline; the object's namespace by default."""
    objs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "labels": {"b": "2", "a": "1"}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
        {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "g", "namespace": "n"},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "x"}],
                  "to": [{"group": "", "kind": "Service"}]}},
    ]
    config = routecore.load(objs)
    assert config.namespaces == (m.Namespace("n", (("a", "1"), ("b", "2"))),)
    assert config.services == (m.Service("default", "s", (), "ClusterIP"),)
    assert config.reference_grants == (m.ReferenceGrant(
        "n", "g", (m.ReferenceGrantFrom("gateway.networking.k8s.io", "HTTPRoute", "x"),),
        (m.ReferenceGrantTo("", "Service", None),)),)
