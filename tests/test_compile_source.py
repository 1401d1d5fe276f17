"""routecore/_compile/table.py is compiled by Cython as it is (setup.py) where the native core is
built: the module as imported (the extension there) and its Python source loaded on its own (the
pure-Python install) must build the same tables: the same entries (every item, in order), the
same choices, gRPC forms and outcomes, from the same attachment records."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import routecore
import routecore.testing as rt
from routecore._compile import table
from routecore._compile.attach import Attachments
from routecore._outcome import Choice

from conftest import source_module

_SOURCE = Path(table.__file__).with_name("table.py")
SOURCE = source_module(table)


def test_the_source_is_a_module_of_its_own():
    assert SOURCE.__file__ == str(_SOURCE)
    assert SOURCE.Builder is not table.Builder


def _plain(item):
    """An Entry's item comparable across the two modules: a Cond (each module's own class) as
    (name, value, pattern), a compiled program (each Builder's cache compiles its own) as its
    pattern."""
    if isinstance(item, tuple):
        return tuple(_plain(x) for x in item)
    if type(item).__name__ == "Cond":
        return ("Cond", item.name, item.value, _plain(item.regex))
    pattern = getattr(item, "pattern", None)
    return ("regex", pattern) if pattern is not None else item


def _built(module, config, new):
    """Per route of the first Gateway's listeners: the entries as plain tuples; then the Builder's
    choices, gRPC choices and outcomes (as lists of pairs)."""
    attachments = Attachments(config)
    options = routecore.Router(config).options
    b = module.Builder(attachments, options, module.CompileCache(new=new), mesh=False)
    out = []
    for gw in config.gateways:
        for lis in attachments.gateway_listeners(gw).listeners:
            scheme = "https" if lis.protocol == "HTTPS" else "http"
            for route, _hosts in attachments.listener_routes(gw, lis):
                out.append([_plain(tuple(e)) for e in b.entries(route, lis.key, lis.port, scheme)])
    for route in config.routes:  # every route as a mesh route too (no listener)
        out.append([_plain(tuple(e)) for e in b.entries(route, None, 80, "http")])
    return out, list(b.choices), list(b.grpc), list(b.outcomes)


@pytest.mark.parametrize("native", [False, True])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(objects=rt.configs())
def test_compiled_and_source_build_the_same(native, objects):
    from routecore import _match
    new = _match.new_frozen if native else None
    if native and new is None:
        pytest.skip("the native core is not built")
    config = routecore.load(objects, strict=False)
    assert _built(table, config, new) == _built(SOURCE, config, new)


def test_outcome_weights_shared_and_cumulative():
    """Builder.outcome (the C helper _add_outcome where compiled): one outcome per call, its
    first choice and cumulative weights; equal weights share one tuple; a sealed Builder refuses."""
    config = routecore.load([])
    attachments = Attachments(config)
    options = routecore.Router(config).options
    for module in (table, SOURCE):
        b = module.Builder(attachments, options, module.CompileCache(), mesh=False)
        c = [Choice(matched=False, status=None), Choice(matched=False, status=500)]
        assert b.outcome(c[:1], [1]) == 0
        assert b.outcome(c, [2, 3]) == 1
        assert b.outcome(c, [2, 3]) == 2
        assert b.outcome(c[1:], [4]) == 3
        assert list(b.outcomes) == [(0, (1,)), (1, (2, 5)), (3, (2, 5)), (5, (4,))]
        assert b.outcomes[1][1] is b.outcomes[2][1]
        assert [g.grpc_status if g else None for g in b.grpc] == [None, None, 14, None, 14, 14]
        b.spec([], 0)
        with pytest.raises(RuntimeError):
            b.outcome(c[:1], [1])
