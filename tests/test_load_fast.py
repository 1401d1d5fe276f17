"""The load's fast paths against their slow definitions (they must agree, or these fail):
- the path match's sure pass (cel._path_match_passes, string tests) against the regex that
  defines the plain paths, on Hypothesis strings over the characters that matter;
- a sure pass is only ever true where check_path_match reports nothing;
- the models built by load (compiled makers, shared index lists, direct reads of always-present
  fields) equal those built from the generic walker's cleaned data by the declarations' plain
  builders, on Hypothesis configs."""
import copy
import re

from hypothesis import HealthCheck, given, settings, strategies as st

import routecore.testing as rt
from routecore._config import cel, fast, parse as parse_mod, schema as s
from routecore._config.sources import RawObject

# the plain paths, written independently of cel.py: "/" alone, or segments that each start with
# a path character other than "." and hold path characters only (no "%"), optionally ending in "/"
_PLAIN = re.compile(r"/|(?:/[-A-Za-z0-9_~!$&'()*+,;=:@][-A-Za-z0-9._~!$&'()*+,;=:@]*)+/?")
_ALPHABET = st.sampled_from("/./a/Z9-_~!$&'()*+,;=:@%#?\\ \t\x00é")


@given(st.text(alphabet=_ALPHABET, max_size=14), st.sampled_from(["Exact", "PathPrefix", "RegularExpression"]))
@settings(max_examples=1500, deadline=None)
def test_the_path_sure_pass_is_the_regex(value, typ):
    passes = cel._path_match_passes({"type": typ, "value": value})
    assert passes == (typ != "RegularExpression" and _PLAIN.fullmatch(value) is not None), value
    if passes:  # a sure pass: the check itself has nothing to say
        ctx = s.Ctx()
        cel.check_path_match({"type": typ, "value": value}, "", ctx)
        assert ctx.issues == []


def test_the_path_sure_pass_on_edges():
    for value, ok in [("/", True), ("", False), ("a", False), ("//", False), ("/.", False), ("/a/", True),
                      ("/a//b", False), ("/a/.b", False), ("/a.b/c.", True), ("/a%20", False), ("/é", False),
                      ("/a/", True), ("./a", False)]:
        assert cel._path_match_passes({"type": "Exact", "value": value}) is ok, value
    assert not cel._path_match_passes({"type": "Exact", "value": 5})
    assert not cel._path_match_passes({"value": "/a"})


_SLOW_DRAWS = settings(deadline=None, max_examples=60,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _generic_parse(objects):
    """parse with the generic walker in place of the compiled validator."""
    compiled_walk = fast.walk
    fast.walk = lambda schema, value, ctx: schema.walk(value, "", ctx)
    try:
        return parse_mod.parse([RawObject(copy.deepcopy(o), None) for o in objects], strict=False)
    finally:
        fast.walk = compiled_walk


@_SLOW_DRAWS
@given(rt.configs())
def test_load_builds_what_the_generic_path_builds(objects):
    fast_config = parse_mod.parse([RawObject(copy.deepcopy(o), None) for o in objects], strict=False)
    assert fast_config == _generic_parse(objects)


def _walk_after_an_earlier_issue(walker, schema, obj):
    ctx = s.Ctx()
    ctx.add("apiVersion", "an issue parse found before the walk")
    cleaned = walker(schema, copy.deepcopy(obj), ctx)
    return cleaned, ctx.issues, ctx.hard_paths


@_SLOW_DRAWS
@given(st.one_of(rt.invalid_httproutes(), rt.injected_httproutes()))
def test_the_compiled_code_reports_to_the_callers_ctx_and_takes_it_back(bad):
    """fast.walk on a Ctx that already holds an issue: what the compiled code reported before it
    bailed is taken back, and the Ctx ends exactly as the walker leaves it."""
    schema = parse_mod.KINDS[bad.obj["kind"]][1]
    generic = _walk_after_an_earlier_issue(lambda sc, v, c: sc.walk(v, "", c), schema, bad.obj)
    assert _walk_after_an_earlier_issue(fast.walk, schema, bad.obj) == generic


def test_a_subclassed_node_after_an_earlier_issue():
    """A node the compiled code runs through its own walk (Secret data) reports to the caller's
    Ctx: an issue found before the walk is not one of its own."""
    schema = parse_mod.KINDS["Secret"][1]
    for data, problems in (({"k": "YQ=="}, 1), ({"k": "!!"}, 2)):
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}
        cleaned, issues, _ = _walk_after_an_earlier_issue(fast.walk, schema, secret)
        assert len(issues) == problems, issues
        assert (cleaned, issues) == _walk_after_an_earlier_issue(lambda sc, v, c: sc.walk(v, "", c),
                                                                 schema, secret)[:2]
