"""The native core reads an exact dict of headers in place (rc_walk_dict, _match_c_headers.pxi:
a combined table of str keys is an array of {key, value} entries, removed ones with a NULL
value), and leaves every other dict (split tables such as an instance's __dict__, non-str keys)
and every entry it cannot take (a repeat after lower-casing, a value that is neither str nor
bytes, a name of a slot name's length that is not compact ASCII) to PyDict_Next: the twins must
agree on each of those."""
import sys
import sysconfig

import pytest

from routecore import _match

from test_header_words import VIEWS

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")


def _agree(headers, backend=None):
    answers = []
    for view in VIEWS:
        try:
            answers.append(view.route("GET", "/p", headers).to_dict())
        except Exception as exc:  # the same error from both, or none
            answers.append((type(exc), str(exc)))
    assert answers[0] == answers[1], headers
    native = VIEWS[0].route("GET", "/p", headers) if isinstance(answers[0], dict) else None
    if backend is not None:
        assert native is not None and native.backend.name == backend, headers


def test_the_walk_in_place_is_on_where_the_layout_is_known():
    from routecore import _match_c
    known = (3, 11) <= sys.version_info[:2] <= (3, 13) and \
        not sysconfig.get_config_var("Py_GIL_DISABLED")
    assert _match_c._DICT_WALK is known


def test_removed_entries_are_skipped():
    headers = {"a": "x", "zz": "1", "x^y": "v,w", "q": "2"}
    del headers["zz"], headers["a"]  # two NULL entries before the referenced one
    _agree(headers, "b1")
    headers["x^y"] = "w"  # replaced in place
    _agree(headers, "none")
    del headers["x^y"]
    headers["X^Y"] = "v,w"  # removed, then added at the end under another case
    _agree(headers, "b1")


def test_names_that_lower_to_one_are_joined_in_the_dicts_order():
    _agree({"x^y": "v", "X^Y": "w"}, "b1")  # "v,w": the second is left to PyDict_Next
    _agree({"X^Y": "w", "x^y": "v"}, "none")  # "w,v"
    _agree({"x~y": "v", "a": "q", "X~y": b"w"}, "none")


def test_values_of_other_types_and_non_ascii_names():
    _agree({"x~y": 1}, "none")
    _agree({"x^y": bytearray(b"v,w")}, "b1")
    _agree({"x^y": b"v,w"}, "b1")
    _agree({"x-" + "\u212a" * 68: "v"}, "b12")  # lowers to "x-kkk...", not compact ASCII
    _agree({"ABCDEFGH\u212a": "v", "abcdefghi": "v"})


def test_dicts_read_by_pydict_next():
    class Holder:
        pass
    one, two = Holder(), Holder()
    for obj in (one, two):  # instances of one class share their keys: a split table
        setattr(obj, "x^y", "v,w")
        setattr(obj, "a", "x")
    assert type(two.__dict__) is dict
    _agree(two.__dict__, "b1")
    _agree({b"X^Y": b"v,w", "a": "x"}, "b1")  # a bytes key: a table of any keys
    _agree({1: "v", "x^y": "v,w"})  # a key that is neither: the same answer or error

    class Sub(dict):
        pass
    _agree(Sub({"x^y": "v,w"}), "b1")
