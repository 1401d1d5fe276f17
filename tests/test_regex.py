"""routecore._config.regex: RE2 compilation, whole-value matching, literal prefilter extraction."""
import time

import pytest
from hypothesis import given, strategies as st

from routecore._config.regex import compile_regex, required_literal


def test_invalid_regex_is_a_value_error_naming_the_pattern():
    with pytest.raises(ValueError, match=r"invalid RE2 regular expression '\(a'"):
        compile_regex("(a")


def test_backreferences_are_not_re2():
    with pytest.raises(ValueError):
        compile_regex(r"(a)\1")


def test_catastrophic_pattern_runs_in_linear_time():
    rx = compile_regex("(a+)+$")
    # a backtracking engine takes ~0.6 s on 24 characters and doubles per character;
    # RE2 answers 10,000 characters immediately. No timing assertion: the test would hang.
    assert rx.fullmatch("a" * 10000 + "b") is None
    assert rx.fullmatch("a" * 10000) is not None


@pytest.mark.parametrize("pattern, literal", [
    ("/api/v[0-9]+/users", "/api/v"),
    ("/foo.*", "/foo"),
    (r"/x\.json", "/x.json"),
    ("/a|/b", None),
    ("(?i)/abc", None),
    (".*", None),
    ("/ab?c", "/a"),
    ("/(foo|bar)/baz+", "/baz"),
    ("/a{0,10}", "/"),
    ("/x{2}yz", "yz"),
    ("/[ab]{1,2}", "/"),
    (r"/\x61b", None),
    (r"/\141b", None),
    (r"/\p{Greek}", None),
    (r"/\d+/abc", None),
    ("/abc(?i)/B", None),
    ("/(?:en|de)/docs", "/docs"),
    ("/(?P<lang>en|de)/x+", "/x"),
])
def test_required_literal(pattern, literal):
    assert required_literal(pattern) == literal


SAFE = st.sampled_from(["/a", "/b", "/api/v[0-9]+/x", "/foo.*", r"/x\.json", "/ab?c", "/(a|b)/c+",
                        "/[a-c]+/d", "/a{2,3}b", ".*/z", "/a{0,10}", "/q{1}x{2,}", r"/\x61b", "/[ab]{1,2}", r"/\141b",
                        "/(?:a|b)/c", "/(?P<n>a+)/d"])


@given(SAFE, st.text(alphabet="/abcdxz.json0123", max_size=20))
def test_required_literal_is_in_every_match(pattern, text):
    rx = compile_regex(pattern)
    lit = required_literal(pattern)
    if lit is not None and rx.fullmatch(text) is not None:
        assert lit in text
