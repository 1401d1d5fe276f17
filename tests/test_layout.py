"""The house rule "no module over ~800 lines" (issue 12), for every source file of the package and
of the native twin: Python modules, the Cython module and every file it includes or cimports."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 800
SUFFIXES = (".py", ".pyx", ".pxi", ".pxd")


def _sources():
    for top in ("routecore", "src_c"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file():
                yield path


def test_sources_found():
    """The walk sees both trees (a moved tree would make the size test pass vacuously)."""
    names = {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert "src_c/routecore/_match_c.pyx" in names
    assert "routecore/_match_py.py" in names


@pytest.mark.parametrize("path", list(_sources()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_over_limit(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= LIMIT, f"{path.relative_to(ROOT)}: {n} lines, over {LIMIT}: split it by concern"
