"""The typed public API: mypy --strict on a user's script, the extension's stub, the protocols.

Run by hand: ``mypy --strict tests/typing/readme_tour.py routecore/types.py routecore/_match_c.pyi``
(mypy.ini makes routecore's internals silent, as for an installed package) and
``python -m mypy.stubtest routecore._match_c --mypy-config-file mypy.ini --allowlist
tests/typing/stubtest-allowlist.txt``. The mypy tests need requirements-typing.txt.
"""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import routecore
from routecore import _match, types

ROOT = Path(__file__).resolve().parents[1]
TYPING = ROOT / "tests" / "typing"
TWINS = [pytest.param((_match.PyTable, _match.PyDecision), id="pure")]
if _match.NATIVE:
    TWINS.append(pytest.param((_match.NativeTable, _match.NativeDecision), id="native"))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def _mypy(*files: str) -> subprocess.CompletedProcess:
    pytest.importorskip("mypy", reason="pip install -r requirements-typing.txt")
    return _run("-m", "mypy", "--strict", "--no-incremental", *files)


@pytest.mark.parametrize("no_extensions", ["0", "1"], ids=["default", "pure"])
def test_the_typed_tour_runs(no_extensions):
    """The script mypy checks is also true: its asserts are the README's claims about examples/."""
    done = _run(str(TYPING / "readme_tour.py"), ROUTECORE_NO_EXTENSIONS=no_extensions)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "tour ok\n"


def test_mypy_strict_accepts_the_readme_tour():
    done = _mypy("tests/typing/readme_tour.py", "routecore/types.py", "routecore/_match_c.pyi")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Success: no issues found in 3 source files")


def test_mypy_strict_rejects_a_misspelt_attribute_and_an_int_method():
    done = _mypy("tests/typing/wrong_user.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'wrong_user.py:8: error: Argument 1 to "route" of "View" has incompatible type ' \
           '"int"; expected "str"' in done.stdout
    assert 'wrong_user.py:10: error: "Backend" has no attribute "nmae"' in done.stdout
    assert "Found 2 errors in 1 file" in done.stdout


@pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")
def test_the_stub_declares_exactly_what_the_extension_has():
    pytest.importorskip("mypy", reason="pip install -r requirements-typing.txt")
    done = _run("-m", "mypy.stubtest", "routecore._match_c", "--mypy-config-file", "mypy.ini",
                "--allowlist", "tests/typing/stubtest-allowlist.txt")
    assert done.returncode == 0, done.stdout + done.stderr


def _protocol_members(protocol) -> dict:
    return {name: value for name, value in vars(protocol).items()
            if not name.startswith("_") and (callable(value) or isinstance(value, property))}


def _parameters(function) -> list:
    """(name, kind, default) of each parameter; the first one's kind is left out: it is the
    instance, bound at the call (a METH_FASTCALL method of a C type takes it positional-only,
    as CPython's builtins do: the native route)."""
    return [(p.name, p.kind if k else None, p.default)
            for k, p in enumerate(inspect.signature(function).parameters.values())]


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("protocol_index", [0, 1], ids=["View", "Decision"])
def test_both_twins_have_the_protocol_members_with_the_same_parameters(twin, protocol_index):
    protocol = (types.View, types.Decision)[protocol_index]
    cls = twin[protocol_index]
    members = _protocol_members(protocol)
    assert members
    for name, declared in members.items():
        actual = inspect.getattr_static(cls, name, None)
        assert actual is not None, f"{cls.__module__}.{cls.__name__} has no {name}"
        if isinstance(declared, property):
            assert inspect.isdatadescriptor(actual), f"{name} is not a read-only attribute"
        else:
            assert _parameters(getattr(cls, name)) == _parameters(declared), name


@pytest.mark.parametrize("twin", TWINS)
def test_every_public_decision_attribute_is_declared(twin):
    public = {n for n in dir(twin[1]) if not n.startswith("_")}
    assert public == set(_protocol_members(types.Decision))


def test_views_and_decisions_of_both_twins_satisfy_the_protocols():
    for native in [False, True] if _match.NATIVE else [False]:
        router = routecore.Router.from_source(str(ROOT / "examples"), native=native, seed=1)
        view = router.gateway("edge", namespace="infra", port=80)
        assert isinstance(view, routecore.View)
        decision = view.route("GET", "/api/x", host="shop.example.com")
        assert isinstance(decision, types.Decision) and isinstance(decision.backend,
                                                                   routecore.Backend)
        assert type(decision).__name__ == "Decision"
        assert isinstance(decision, routecore.Decision)  # one public type for both twins
