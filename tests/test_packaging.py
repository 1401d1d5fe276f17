"""Distribution metadata and sdist contents (issue 11, item 7). `.ci/run` builds the sdist and
the wheel and installs the sdist in a fresh venv; these are the static checks, fast enough for
every test run."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_is_an_spdx_string_with_its_file():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply" in text


def test_classifiers_and_urls():
    classifiers = set(PROJECT["classifiers"])
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Programming Language :: Cython" in classifiers
    assert any(c.startswith("Operating System ::") for c in classifiers)
    assert not any(c.startswith("Typing ::") for c in classifiers)  # no py.typed yet
    assert PROJECT["requires-python"] == ">=3.10"
    assert all(u.startswith("https://") for u in PROJECT["urls"].values())


def test_the_sdist_ships_what_builds():
    manifest = (ROOT / "MANIFEST.in").read_text()
    assert "recursive-include src_c *.pyx *.pxd" in manifest
    assert "recursive-include examples *.yaml" in manifest
    assert "include LICENSE README.md" in manifest


def test_extras():
    extras = PROJECT["optional-dependencies"]
    assert extras["testing"] == ["hypothesis>=6.100"]  # the light extra of routecore.testing
    assert extras["diff"] == ["rich>=13"]
    assert {"httptools>=0.6", "prometheus_client>=0.20"} <= set(extras["serve"])
    assert "routecore[serve,diff,testing,kube]" in extras["test"]


def test_readme_links_are_absolute_for_pypi():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"!?\[[^\]]*\]\(([^)]+)\)", readme)
    assert targets and all(t.startswith("https://") for t in targets), targets
