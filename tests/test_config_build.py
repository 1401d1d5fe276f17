"""How loading builds the models (routecore._config.schema's makers): every model is exactly what
its attrs class's ``__init__`` makes from the same values (same class, every attribute set,
frozen), on generated valid configurations; a making that fails midway leaves no model behind."""
import gc

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import routecore.testing as rt
from routecore._config import cel, models as m, parse as parse_mod, schema as s
from routecore._config.sources import RawObject

_SLOW_DRAWS = settings(deadline=None, max_examples=60,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _remade(value):
    """``value`` made again through the attrs classes' ``__init__`` (tuples item by item)."""
    if attrs.has(type(value)):
        return type(value)(**{a.name: _remade(getattr(value, a.name)) for a in attrs.fields(type(value))})
    if type(value) is tuple:
        return tuple(_remade(v) for v in value)
    return value


def _models(value):
    """Every attrs instance in ``value`` (nested in attributes and tuples)."""
    if attrs.has(type(value)):
        yield value
        for a in attrs.fields(type(value)):
            yield from _models(getattr(value, a.name))
    elif type(value) in (tuple, frozenset):
        for v in value:
            yield from _models(v)


@_SLOW_DRAWS
@given(rt.configs())
def test_models_are_what_their_init_makes(objects):
    config = parse_mod.parse([RawObject(o, None) for o in objects], strict=False)
    for obj in _models(config.routes + config.gateways + config.reference_grants + config.namespaces
                       + (config.services or ())):
        assert type(obj).__module__ == m.__name__  # a model class, never a filler
        again = _remade(obj)
        assert type(again) is type(obj) and again == obj and hash(again) == hash(obj)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(obj, attrs.fields(type(obj))[0].name, None)


def test_a_failed_making_leaves_no_model():
    """A ``to`` that raises midway: the half-filled instance is dropped, never given the model's class."""
    def boom(value, env):
        raise KeyError(value)

    obj = s.Obj({"type": s.Field(s.Str(), attr="type"), "value": s.Field(s.Str(), attr="value", to=boom)},
                model=m.PathMatch)
    gc.collect()
    before = sum(type(o) is m.PathMatch for o in gc.get_objects())
    for _ in range(3):
        with pytest.raises(KeyError):
            obj.build({"type": "Exact", "value": "/x"}, s.BuildEnv("default"))
    gc.collect()
    assert sum(type(o) is m.PathMatch for o in gc.get_objects()) == before


def test_a_model_with_more_than_stores_is_called():
    """A class whose ``__init__`` validates gets no filler: its makers call it."""
    @attrs.frozen
    class Checked:
        value: str = attrs.field(validator=attrs.validators.instance_of(str))

    assert s.filler(Checked) is None
    assert s.filler(m.PathMatch) is not None
    obj = s.Obj({"value": s.Field(s.AnyValue(), attr="value")}, model=Checked)
    assert obj.build({"value": "a"}, s.BuildEnv("default")) == Checked("a")
    with pytest.raises(TypeError):
        obj.build({"value": 1}, s.BuildEnv("default"))


# --- sure passes of checks (schema.Obj ``check.passes``): true only where the check is silent ---

_PATH_ALPHABET = "/.%#?a-Z09~!$&'()*+,;=:@_ \\\x00é"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["Exact", "PathPrefix", "RegularExpression", None]),
       st.text(alphabet=_PATH_ALPHABET, max_size=12) | st.sampled_from(["/", "/a/", "/.well-known", "//a", "/a/.."]))
def test_a_path_match_sure_pass_is_a_pass(typ, value):
    obj = {"value": value} if typ is None else {"type": typ, "value": value}
    ctx = s.Ctx()
    cel.check_path_match(obj, "", ctx)
    if cel.check_path_match.passes(obj):
        assert ctx.issues == []


def test_a_path_match_sure_pass_takes_plain_paths():
    for value in ("/", "/a", "/app1/api", "/a/b/", "/a.b/c-d_e~f"):
        assert cel.check_path_match.passes({"type": "PathPrefix", "value": value})
    for value in ("", "a", "//", "/a//b", "/./a", "/a/..", "/%41", "/a#b", "/a b", "/.well-known"):
        assert not cel.check_path_match.passes({"type": "Exact", "value": value})


@_SLOW_DRAWS
@given(rt.httproutes(parent="gateway", max_rules=3))
def test_a_rule_sure_pass_is_a_pass(route):
    cleaned = s.Ctx()
    spec = parse_mod.KINDS["HTTPRoute"][1].walk(route, "", cleaned)["spec"]
    for rule in spec["rules"]:
        ctx = s.Ctx()
        cel.check_rule(rule, "", ctx)
        if cel.check_rule.passes(rule):
            assert ctx.issues == []
        assert cel.check_rule.passes(rule) == (not rule.get("filters") and not any(
            b.get("filters") for b in rule.get("backendRefs", ())))


def test_objects_read_are_plain_raw_objects():
    from routecore._config.sources import read_source
    objs = [{"kind": "Namespace", "metadata": {"name": "a"}}, {"kind": "NamespaceList", "items": [{"kind": "X"}]}]
    raws = read_source(objs)
    assert [type(r) for r in raws] == [RawObject, RawObject]
    assert raws == [RawObject(objs[0], None, ()), RawObject({"kind": "X"}, None, ())]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        raws[0].obj = None
