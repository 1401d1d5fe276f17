"""RouterOptions: validated once, carried whole from Router into every table, reused by reloads."""
import attrs
import pytest

import routecore
from routecore import _match
from routecore._compile.options import RouterOptions
from routecore._serve.proxy import Proxy

from builders import be, gateway, gw_ref, httproute, listener, rule, INFRA

OBJS = [gateway("gw", listener("web", 80, from_="All")),
        httproute("r", [gw_ref("gw")], [rule(be("a"), be("b"))])]

TWINS = [False] + ([True] if _match.NativeTable is not None else [])


def test_defaults_and_one_name_per_option():
    o = RouterOptions.build(seed=5)
    assert (o.seed, o.regex_precedence, o.normalize_path, o.merge_slashes, o.extensions,
            o.native, o.escaped_slashes) == (5, "after-prefix", True, False, frozenset(), False,
                                             "reject")
    # the Router fills the default twin (the compile layer never imports the twins)
    router = routecore.Router(routecore.load(OBJS), seed=5)
    assert router.options.native is _match.NATIVE
    assert o.regex_first is False
    assert RouterOptions.build(seed=5, regex_precedence="before-prefix").regex_first is True


def test_random_seed_when_none():
    seeds = {RouterOptions.build().seed for _ in range(4)}
    assert len(seeds) > 1 and all(isinstance(s, int) for s in seeds)


def test_extensions_become_a_frozenset_of_pairs():
    o = RouterOptions.build(seed=1, extensions=[["example.com", "Auth"], ("x.io", "Tap")])
    assert o.extensions == frozenset({("example.com", "Auth"), ("x.io", "Tap")})


@pytest.mark.parametrize("bad", ["first", "", None, "after_prefix"])
def test_regex_precedence_is_checked_with_the_same_text(bad):
    msg = f"regex_precedence must be 'after-prefix' or 'before-prefix', got {bad!r}"
    with pytest.raises(ValueError) as e:
        RouterOptions.build(regex_precedence=bad)
    assert str(e.value) == msg
    with pytest.raises(ValueError) as e:  # the Router keyword says the same
        routecore.Router(routecore.load(OBJS), regex_precedence=bad)
    assert str(e.value) == msg


def test_a_direct_construction_is_checked_too():
    with pytest.raises(ValueError, match="regex_precedence"):
        RouterOptions(seed=1, regex_precedence="first")


def test_native_without_the_extension(monkeypatch):
    monkeypatch.setattr(_match, "NativeTable", None)
    with pytest.raises(RuntimeError, match="the native routecore extension is not available"):
        routecore.Router(routecore.load(OBJS), native=True)


def test_frozen():
    o = RouterOptions.build(seed=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        o.seed = 2


@pytest.mark.parametrize("native", TWINS)
def test_router_carries_the_options_whole_into_its_tables(native):
    router = routecore.Router(routecore.load(OBJS), seed=9, regex_precedence="before-prefix",
                              normalize_path=False, merge_slashes=True, native=native,
                              extensions=[("example.com", "Auth")])
    o = router.options
    assert (o.seed, o.regex_precedence, o.normalize_path, o.merge_slashes, o.native) == \
        (9, "before-prefix", False, True, native)
    assert (router.seed, router.regex_precedence, router.normalize_path, router.merge_slashes,
            router.extensions, router.native) == (9, "before-prefix", False, True,
                                                  frozenset({("example.com", "Auth")}), native)
    spec = router.gateway("gw", INFRA, 80).spec
    assert spec.options is o
    # what the twins read, derived from the options
    assert (spec.seed, spec.normalize_path, spec.merge_slashes, spec.regex_first) == \
        (9, False, True, True)


@pytest.mark.parametrize("native", TWINS)
def test_reload_reuses_the_options(native):
    router = routecore.Router(routecore.load(OBJS), seed=3, merge_slashes=True, native=native,
                              regex_precedence="before-prefix")
    before = router.options
    first = [router.gateway("gw", INFRA, 80).route("GET", "/", host="h").backend.name
             for _ in range(20)]
    router.reload(OBJS)
    assert router.options is before and router.generation == 1
    assert router.gateway("gw", INFRA, 80).spec.options is before
    # the same seed: the reloaded table picks the same weighted sequence
    again = [router.gateway("gw", INFRA, 80).route("GET", "/", host="h").backend.name
             for _ in range(20)]
    assert again == first


def test_with_options_takes_only_router_options():
    with pytest.raises(TypeError, match="RouterOptions"):
        routecore.Router.with_options(routecore.load(OBJS), {"seed": 1})


def test_proxy_reload_reuses_the_options():
    router = routecore.Router(routecore.load(OBJS), seed=4, normalize_path=False,
                              extensions=[("example.com", "Auth")], native=False)
    proxy = Proxy(router, lambda r: r.gateway("gw", INFRA, 80), {}, observers=())
    proxy.reload(OBJS)
    assert proxy.router is not router and proxy.router.options is router.options
    assert proxy.generation == 1 and proxy.view.spec.options is router.options
    proxy.close()
