"""Shared fixtures: every behavioural test runs on both twins (native Cython core, pure Python)."""
import importlib.util
from pathlib import Path

import pytest

import routecore
from routecore import _match
from routecore.testing import register_profiles

# "ci" (derandomized, the default) and "long" (pytest --hypothesis-profile=long); registered
# here because the Hypothesis plugin reads the profile before test modules are imported
register_profiles()

TWINS = {"native": True, "python": False}


@pytest.fixture(params=list(TWINS), ids=list(TWINS))
def twin(request):
    """The ``native=`` argument for Router: True (Cython core) or False (pure-Python twin)."""
    native = TWINS[request.param]
    if native and _match.NativeTable is None:
        # tests/test_match.py fails loudly when the extension should have been built.
        pytest.skip("native extension not available")
    return native


def make_router(source, twin, **kw):
    """Router(load(source), native=twin, seed=1, **kw); ``source`` is YAML text or dict(s)."""
    kw.setdefault("seed", 1)
    return routecore.Router(routecore.load(source), native=twin, **kw)


@pytest.fixture(name="make_router")
def make_router_fixture():
    return make_router


def source_module(module):
    """``module``'s .py source loaded as a module of its own: the pure-Python install of a module
    setup.py compiles by Cython as it is (routecore._config.quick, routecore._compile.table)."""
    package, _, name = module.__name__.rpartition(".")
    path = Path(module.__file__).with_name(name + ".py")
    spec = importlib.util.spec_from_file_location(f"{package}._{name}_source", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def both_twins(source, **kw):
    """Routers for every available twin, same config and options (for to_dict comparisons)."""
    out = [make_router(source, False, **kw)]
    if _match.NativeTable is not None:
        out.append(make_router(source, True, **kw))
    return out


@pytest.fixture
def twins_agree():
    """twins_agree(source, view=("service", args...), request=(method, target, headers, kw))

    Routes the same request through both twins and asserts equal ``to_dict()``; returns it.
    """

    def check(source, view, method, target, headers=(), router_kw=None, **route_kw):
        dicts = []
        for router in both_twins(source, **(router_kw or {})):
            v = getattr(router, view[0])(*view[1:])
            dicts.append(v.route(method, target, headers, **route_kw).to_dict())
        for d in dicts[1:]:
            assert d == dicts[0], "native and python twins disagree"
        return dicts[0]

    return check


@pytest.fixture(params=["gateway", "mesh"])
def parent_kind(request):
    """Where a scenario's route attaches: "gateway" (a Gateway listener) or "mesh" (a Service
    port, GAMMA). Scenarios that the spec defines alike for both take this fixture once instead
    of being written twice; tests/test_conformance.attach builds the view for either."""
    return request.param
