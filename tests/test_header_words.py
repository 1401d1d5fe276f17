"""The native core reads referenced header names as 64-bit words (_match_c_headers.pxi: a bucket
per length, then (word | fold) & keep == key per 8 bytes, fold only on the slot name's letters):
the twins must agree on names of every length around the word size, on the characters that
differ from a referenced one by the case bit alone ("^" / "~", "`" / "@", "|" / "\\"), on
near misses (one character changed, one more or less), on non-ASCII names whose lower case is a
referenced name (the Kelvin sign), and on values as str, bytes, repeated or of another type."""
import sys

import pytest
from hypothesis import given, settings, strategies as st

from routecore import _match

from conftest import make_router

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

NAMES = ["a", "x^y", "x~y", "x`z", "x|z", "abcdefg", "abcdefgh", "abcdefghi", "x-request-id",
         "abcdefghijklmnop", "abcdefghijklmnopq", "x-" + "k" * 61, "x-" + "k" * 68,
         # a name is tested by its length & 63 first, then by its bucket's first name's first
         # word: two names of one bucket sharing that word ("abcdefghz" / "abcdefghi"), two
         # lengths 64 apart in one bucket (6 / 70, 12 / 76), names of a real request's lengths
         "abcdefghz", "abcdef", "x-" + "k" * 74, "user-agentzz", "cookie"]


def header_config(names, more=()):
    """One HTTPRoute per rule on Service svc:80, each path "/": rule i sends a request whose
    header names[i] is "v" (i even) or "v,w" (i odd) to backend b<i>; then the rules ``more``,
    then one without conditions (backend "none")."""
    rules = []
    for i, name in enumerate(names):
        rules.append({"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                                   "headers": [{"name": name, "value": "v,w" if i % 2 else "v"}]}],
                      "backendRefs": [{"name": f"b{i}", "port": 80}]})
    rules.extend(more)
    rules.append({"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                  "backendRefs": [{"name": "none", "port": 80}]})
    return [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": f"r{k:02d}", "namespace": "default"},
             "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                      "rules": [rule]}}
            for k, rule in enumerate(rules)]


VIEWS = [make_router(header_config(NAMES), twin).service("svc", namespace="default", port=80)
         for twin in (True, False)]

# one character and its case-bit partner, where neither is a letter: only one can be in a name
_PARTNER = {"^": "~", "~": "^", "`": "@", "@": "`", "|": "\\", "\\": "|", "-": "\r", "_": "\x7f"}


@st.composite
def names(draw):
    name = draw(st.sampled_from(NAMES + ["x-" + "k" * 4, "content-type", "host", ":authority",
                                         "user-agent", "traceparent"]))
    how = draw(st.sampled_from(["same", "case", "partner", "change", "shorter", "longer",
                                "kelvin", "bytes", "longer64"]))
    if how == "case":
        name = "".join(c.upper() if draw(st.booleans()) else c for c in name)
    elif how == "partner":
        i = draw(st.integers(0, len(name) - 1))
        name = name[:i] + _PARTNER.get(name[i], name[i].upper()) + name[i + 1:]
    elif how == "change":
        i = draw(st.integers(0, len(name) - 1))
        name = name[:i] + chr(ord(name[i]) ^ draw(st.sampled_from([1, 2, 0x40, 0x80]))) + name[i + 1:]
    elif how == "shorter":
        name = name[:-1]
    elif how == "longer":
        name = name + draw(st.sampled_from(["a", "A", "-", "\x00"]))
    elif how == "longer64":  # the same length & 63, another length
        name = name + "k" * 64
    elif how == "kelvin":
        name = name.replace("k", "\u212a")
    elif how == "bytes":
        name = name.upper().encode("latin-1")
    return name


values = st.one_of(st.sampled_from(["v", "w", "v,w", ""]),
                   st.sampled_from([b"v", b"w", b"v,w", b"\xe9"]),
                   st.sampled_from([1, bytearray(b"v")]))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(names(), values), max_size=14), st.sampled_from(["list", "tuple", "dict"]))
def test_twins_agree_on_header_names_read_as_words(pairs, form):
    headers = {"list": list, "tuple": tuple, "dict": dict}[form](pairs)
    native, pure = (view.route("GET", "/p", headers) for view in VIEWS)
    assert native.to_dict() == pure.to_dict()


def test_a_case_bit_partner_is_not_the_name():
    native, pure = VIEWS
    for headers, backend in ([("X^Y", "v,w")], "b1"), ([("x~y", "v")], "b2"), \
            ([("X@Z", "v,w")], "none"), ([("x\\z", "v")], "none"), \
            ([("ABCDEFGHIJKLMNOPQ", b"v")], "b10"), ([("abcdefghijklmnoP", "v,w")], "b9"), \
            ([("abcdefghijklmnoP", "v")], "none"), ([("x-" + "K" * 61, "v")], "none"), \
            ([("x-" + "K" * 61, "v,w")], "b11"), ([("x-" + "\u212a" * 68, "v")], "b12"):
        assert native.route("GET", "/p", headers).backend.name == backend, headers
        assert pure.route("GET", "/p", headers).backend.name == backend, headers


def test_repeated_names_are_joined_in_order_whatever_the_value_types():
    native, pure = VIEWS
    for headers, want in (([("x^y", "v"), ("X^Y", b"w")], "b1"),
                          ([("X^Y", b"v"), ("x^y", "w")], "b1"),
                          ([("X^Y", b"v"), ("x^y", 1)], "none"),
                          ([("x~y", b"v"), ("a", "x"), ("X~Y", b"w")], "none"),
                          ([("x~y", b"v"), ("a", "v")], "b0")):
        assert native.route("GET", "/p", headers).backend.name == want, headers
        assert pure.route("GET", "/p", headers).backend.name == want, headers


def test_only_the_kelvin_sign_lowers_to_ascii_and_only_one_to_one():
    """The native walk reads a str name's length before its kind (_match_c_headers.pxi): a str
    that is not ASCII may lower-case to a slot name (lower-case ASCII) only when it has that
    name's length. True when the only non-ASCII character whose lower case is all ASCII is
    U+212A (to "k"), and the only one whose lower case is longer, U+0130, lowers to a
    non-ASCII pair; checked over every code point of this Python."""
    to_ascii, longer = [], []
    for i in range(128, sys.maxunicode + 1):
        low = chr(i).lower()
        if len(low) != 1:
            longer.append((i, low))
        elif ord(low) < 128:
            to_ascii.append(i)
    assert to_ascii == [0x212A]
    assert all(not low.isascii() for _, low in longer), longer


def test_names_of_a_slot_names_length_that_are_not_compact_ascii():
    native, pure = VIEWS
    for headers in ([("\u212aA", "v")], [("x-" + "\u212a" * 68, "v,w")], [("cooki\u00e9", "v")],
                    [("x~\u00ff", "v")], [("a\u0130", "v")], [("\u0130", "v")],
                    [("\U0001f600" * 3, "v")], [("ABCDEFGH\u212a", "v")]):
        assert native.route("GET", "/p", headers).to_dict() == \
            pure.route("GET", "/p", headers).to_dict(), headers
