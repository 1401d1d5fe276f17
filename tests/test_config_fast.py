"""The schema's compiled fast path (routecore._config.fast) against the generic walker: the same
cleaned data and the same issues (texts, paths, hardness, tracked items, order) on valid and
invalid objects, and the same Config or ConfigError from parse; valid objects take the fast path."""
import copy
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import routecore
import routecore.testing as rt
from routecore._config import fast, parse as parse_mod, schema as s
from routecore._config.sources import RawObject
from routecore._errors import ConfigError

SCHEMAS = {kind: schema for kind, (_, schema) in parse_mod.KINDS.items()}

# (drawing whole routes is slow on a busy machine: not a failure of the code under test)
_SLOW_DRAWS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _schema(obj):
    return parse_mod.kinds_l4.ALPHA2.get((obj.get("kind"), obj.get("apiVersion")), SCHEMAS[obj["kind"]])


def _same(a, b):
    """Equal cleaned data, list subclasses and their indexes included."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)  # the same key order
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        if isinstance(a, s.CleanList):
            assert (a.indexes, a.total) == (b.indexes, b.total)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


def _agree(obj, schema=None):
    """fast.walk and schema.walk agree on ``obj``; returns whether the compiled code accepted it."""
    schema = schema or _schema(obj)
    generic_ctx, fast_ctx = s.Ctx(), s.Ctx()
    generic = schema.walk(copy.deepcopy(obj), "", generic_ctx)
    cleaned = fast.walk(schema, copy.deepcopy(obj), fast_ctx)
    assert fast_ctx.issues == generic_ctx.issues
    assert fast_ctx.hard_paths == generic_ctx.hard_paths
    _same(cleaned, generic)
    probe = s.Ctx()
    try:
        fast.compiled(schema)(copy.deepcopy(obj), probe)
    except fast.Bail:
        return False
    accepted = not probe.issues
    if accepted:  # never looser than the walker
        assert generic_ctx.issues == []
    return accepted


def _generic_walk(schema, value, ctx):
    return schema.walk(value, "", ctx)


def _parse_both(objects, strict):
    """parse's outcome (Config or ConfigError's issues) with the fast path, then without."""
    out = []
    compiled_walk = fast.walk
    try:
        for walker in (compiled_walk, _generic_walk):
            fast.walk = walker  # (parse calls fast.walk)
            try:
                out.append(parse_mod.parse([RawObject(copy.deepcopy(o), None) for o in objects], strict=strict))
            except ConfigError as exc:
                out.append(exc.errors)
    finally:
        fast.walk = compiled_walk
    return out


@_SLOW_DRAWS
@given(st.one_of(rt.httproutes(parent="gateway"), rt.httproutes(parent="mesh"), rt.grpcroutes(), rt.gateways()))
def test_valid_objects_take_the_fast_path(obj):
    assert _agree(obj)


@_SLOW_DRAWS
@given(st.one_of(rt.invalid_httproutes(), rt.injected_httproutes()))
def test_invalid_objects_get_the_walkers_issues(bad):
    _agree(bad.obj)  # (a problem parse finds outside the walk, e.g. in apiVersion, lets the fast path through)


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from(
    ["", "/", "a", "Exact", "PathPrefix", "x-h", "*.a.b", "1.2.3.4", "/a//b", "a\nb", "Service", "v1"]),
    st.lists(st.none() | st.integers(0, 3) | st.just({}), max_size=3), st.just({}), st.just({"x": 1}))


def _sites(value, path=()):
    """Every (container path, key) of a nested object."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k
            yield from _sites(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield path, i
            yield from _sites(v, path + (i,))


@st.composite
def _mutated(draw):
    """A valid object with one field, list item or new key set to an arbitrary value."""
    obj = copy.deepcopy(draw(st.one_of(rt.httproutes(parent="gateway", max_rules=2), rt.grpcroutes(max_rules=2),
                                       rt.gateways())))
    where, key = draw(st.sampled_from(list(_sites(obj))))
    box = obj
    for k in where:
        box = box[k]
    if isinstance(box, dict) and draw(st.booleans()):
        key = draw(st.sampled_from(["extra", "value", "type", "name", "port", "filters", "matches"]))
    schema = _schema(obj)
    box[key] = draw(_JUNK)
    return schema, obj


@_SLOW_DRAWS
@given(_mutated())
def test_mutated_objects_agree(mutated):
    schema, obj = mutated
    _agree(obj, schema)


@_SLOW_DRAWS
@given(rt.configs(), st.booleans())
def test_parse_is_the_same_either_way(objects, strict):
    fast_result, generic_result = _parse_both(objects, strict)
    assert fast_result == generic_result


@_SLOW_DRAWS
@given(rt.invalid_httproutes(), st.booleans())
def test_parse_reports_the_same_problems_either_way(bad, strict):
    fast_result, generic_result = _parse_both([bad.obj], strict)
    assert fast_result == generic_result


def test_a_subclassed_node_runs_its_own_walk():
    """Secret data is a StrMap subclass with its own check (base64): the compiled code defers to it."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "!!"}}
    assert not _agree(secret)
    secret["data"]["k"] = "YQ=="
    assert _agree(secret)


@pytest.mark.parametrize("value", [True, 1.0, "80", None])
def test_wrong_scalar_types_are_the_walkers_to_report(value):
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
             "spec": {"parentRefs": [{"name": "gw", "port": value}]}}
    assert _agree(route) is (value is None)


def test_equal_strings_are_shared_and_forgotten_after_the_load():
    """Equal strings of one load end up as one object in the models (memory), and the fast path
    keeps none of them once the load is over."""
    import routecore

    def route(name):
        value = "".join(["tr", "ue"])  # a distinct str object per route, as a YAML parser gives
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name},
                "spec": {"parentRefs": [{"name": "gw"}],
                         "rules": [{"matches": [{"headers": [{"name": "x-canary", "value": value}]}]}]}}
    first, second = route("a"), route("b")
    assert first["spec"]["rules"][0]["matches"][0]["headers"][0]["value"] is not \
        second["spec"]["rules"][0]["matches"][0]["headers"][0]["value"]
    config = routecore.load([first, second])
    a, b = (r.rules[0].matches[0].headers[0].value for r in config.routes)
    assert a == "true" and a is b
    assert fast._SEEN and not any(fast._SEEN)


# RFC 3986 path characters (pchar and "/"), written here independently of cel.py
_PCHAR_PATH = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")
_NOT_PATH_CHARS = "contains characters not allowed in a path (percent-encode them)"


@given(st.text(alphabet=st.sampled_from("/aZ09-._~!$&'()*+,;=:@%fF2 \t\"<>[]\\^`{|}?é\x00\x7f€"), max_size=12))
@settings(max_examples=300, deadline=None)
def test_path_match_characters_are_refused_exactly_as_rfc3986_says(tail):
    value = "/" + tail
    doc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "r", "namespace": "default"},
           "spec": {"parentRefs": [{"name": "gw"}],
                    "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": value}}]}]}}
    try:
        routecore.load([doc])
        messages = []
    except ConfigError as exc:
        messages = [e.message for e in exc.errors]
    assert (_NOT_PATH_CHARS in messages) == (_PCHAR_PATH.fullmatch(value) is None), (value, messages)


def test_a_bail_keeps_nothing_alive():
    """Each bail's traceback (and the frames holding the object being checked) is released when
    the walker takes over: it once went on a traceback chain shared by every bail, which grew by
    a few frames per bail for the life of the process."""
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
             "spec": {"parentRefs": [{"name": "gw", "port": "80"}]}}
    schema = _schema(route)
    spec = route["spec"]
    fast.walk(schema, route, s.Ctx())  # (compiles on first use)
    before = sys.getrefcount(spec)
    for _ in range(50):
        fast.walk(schema, route, s.Ctx())
    assert sys.getrefcount(spec) == before
