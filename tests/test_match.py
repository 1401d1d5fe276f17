"""Which twin is in use: the compiled core must be loaded unless explicitly disabled."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys

import routecore
from routecore import _match


def test_native_extension_loaded():
    if os.environ.get("ROUTECORE_NO_EXTENSIONS", "") not in ("", "0"):
        assert routecore.NATIVE is False
        return
    # The extension should have been built and imported: a silent fallback is a failure.
    assert _match.NativeTable is not None, "routecore._match_c did not import"
    assert routecore.NATIVE is True


def test_no_extensions_env_forces_python_twin():
    env = dict(os.environ, ROUTECORE_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", "import routecore; print(routecore.NATIVE)"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_no_extensions_env_zero_keeps_native():
    env = dict(os.environ, ROUTECORE_NO_EXTENSIONS="0")
    out = subprocess.run([sys.executable, "-c", "import routecore; print(routecore.NATIVE)"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    built = importlib.util.find_spec("routecore._match_c") is not None
    assert out.stdout.strip() == str(built)


def test_compiled_python_modules_loaded_with_the_core():
    # setup.py builds the load's one-pass HTTPRoute loader (routecore._config.quick), its driver
    # (routecore._config.parse) and the compile's precedence and Builder (routecore._compile.table)
    # from their .py beside the core: where the core was built, the compiled modules must be what
    # imports (a stale or missing build is a failure).
    from routecore._compile import table
    from routecore._config import parse, quick
    if importlib.util.find_spec("routecore._match_c") is None:
        return
    for module in (quick, parse, table):
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), module.__file__
