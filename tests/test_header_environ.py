"""The native core reads a WSGI environ's headers over the dict's entry array in place
(rc_walk_environ, src_c/routecore/_match_c_environ.pxi): an HTTP_ key's name tested by its
length, then byte by byte with "_" read as "-" and A-Z as a-z; CONTENT_TYPE / CONTENT_LENGTH when
their str value is not empty. Anything it cannot take (a key that is not a compact-ASCII str, a
CONTENT_* value that is not a str, a value of another type, a repeated name) is left to the
PyDict_Next loop, which reads the environ again from the start. The twins must agree on each of
those, through route_wsgi (routecore._adapters.wsgi_headers is the pure twin's reading)."""
import pytest
from hypothesis import given, settings, strategies as st

from routecore import _match

from conftest import make_router
from test_header_words import header_config

pytestmark = pytest.mark.skipif(_match.NativeTable is None, reason="the native core is not built")

# header conditions (backend b<i> when names[i] has the value v or "v,w"); "x_y" can never match
# an environ key ("_" reads as "-"); "a" and "x-y" are one byte past "HTTP_"
NAMES = ["content-type", "content-length", "x-request-id", "x_y", "x-y", "a", "user-agent",
         "abcdefghi", "x-" + "k" * 61, "accept"]
# any value of content-length, "" too (an empty CONTENT_LENGTH is no header: absent)
PRESENT = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [
    {"type": "RegularExpression", "name": "content-length", "value": ".*"}]}],
    "backendRefs": [{"name": "present", "port": 80}]}
VIEWS = [make_router(header_config(NAMES, [PRESENT]), twin).service("svc", namespace="default",
                                                                   port=80)
         for twin in (True, False)]


def _environ(*items):
    env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/p", "QUERY_STRING": "",
           "RAW_URI": "/p", "SERVER_NAME": "svc", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    for key, value in items:
        env[key] = value
    return env


def _answers(environ):
    out = []
    for view in VIEWS:
        try:
            out.append(view.route_wsgi(dict(environ)).to_dict())
        except Exception as exc:  # the same error from both, or none
            out.append((type(exc), str(exc)))
    return out


def _backend(environ):
    native, pure = _answers(environ)
    assert native == pure, environ
    return native["backend"]["name"] if isinstance(native, dict) else native


@pytest.mark.parametrize("items, backend", [
    ([("HTTP_X_REQUEST_ID", "v")], "b2"),
    ([("HTTP_x-Request_iD", "v")], "b2"),          # "-" kept, "_" read as "-", any case
    ([("HTTP_X_REQUEST_I", "v")], "none"),         # one byte short, one byte long, one changed
    ([("HTTP_X_REQUEST_IDS", "v")], "none"),
    ([("HTTP_X_REQUEST_IE", "v")], "none"),
    ([("HTTP_X^REQUEST_ID", "v")], "none"),
    ([("HTTP_X_Y", "v")], "b4"),                   # "x-y", never "x_y"
    ([("HTTP_A", "v,w")], "b5"),
    ([("HTTP_", "v"), ("HTTP", "v"), ("H", "v"), ("", "v")], "none"),
    ([("http_a", "v,w")], "none"),                 # the prefix is upper-case only
    ([("CONTENT_TYPE", "v")], "b0"),
    ([("CONTENT_TYPE", ""), ("HTTP_CONTENT_TYPE", "v")], "b0"),   # empty: not a header
    ([("CONTENT_TYPE", "v"), ("HTTP_CONTENT_TYPE", "w")], "none"),  # "v,w"
    ([("CONTENT_LENGTH", "v"), ("HTTP_CONTENT_LENGTH", "w")], "b1"),
    ([("CONTENT_LENGTH", "")], "none"),
    ([("CONTENT_LENGTH", "x")], "present"),
    ([("CONTENT_LENGTH", "v"), ("HTTP_CONTENT_LENGTH", "")], "present"),  # "v,"
    ([("CONTENT_LENGTH", b"v,w")], "b1"),          # truth of bytes, 0, None: Python's
    ([("CONTENT_LENGTH", b""), ("HTTP_CONTENT_LENGTH", "v,w")], "b1"),
    ([("CONTENT_TYPE", 0), ("HTTP_CONTENT_TYPE", "v")], "b0"),
    ([("CONTENT_TYPE", None), ("HTTP_CONTENT_TYPE", "v")], "b0"),
    ([("Content_Type", "v"), ("CONTENT_TYPEX", "v"), ("CONTENT-TYPE", "v")], "none"),
    ([("HTTP_X_REQUEST_ID", "v"), ("HTTP_X-REQUEST-ID", "w")], "none"),  # "v,w": repeated
    ([("HTTP_ACCEPT", "v"), ("HTTP_Accept", "w")], "b9"),                 # "v,w"
    ([("HTTP_ACCEPT", b"v"), ("HTTP_accept", b"w")], "b9"),
    ([("HTTP_X_REQUEST_ID", b"v")], "b2"),
    ([("HTTP_X_REQUEST_ID", 1)], "none"),          # str(1)
    ([("HTTP_ABCDEFGHI", bytearray(b"v,w"))], "b7"),
    ([("HTTP_X_" + "K" * 61, "v")], "b8"),
    ([("HTTP_X_" + "\u212a" * 61, "v")], "b8"),  # not ASCII: read by routecore._adapters
    ([("HTTP_USER_AGENT", "v,w"), ("HTTP_\u00e9", "v")], "none"),
])
def test_environ_headers(items, backend):
    assert _backend(_environ(*items)) == backend


def test_removed_entries_are_skipped():
    env = _environ(("HTTP_A", "x"), ("HTTP_ZZ", "1"), ("HTTP_ACCEPT", "v,w"), ("HTTP_Q", "2"))
    del env["HTTP_ZZ"], env["HTTP_A"]  # two NULL entries before the referenced one
    assert _backend(env) == "b9"
    env["HTTP_ACCEPT"] = "w"  # replaced in place
    assert _backend(env) == "none"
    del env["HTTP_ACCEPT"]
    env["HTTP_Accept"] = "v,w"  # removed, then added at the end under another case
    assert _backend(env) == "b9"


def test_keys_that_are_not_str():
    assert _backend(_environ((b"HTTP_ACCEPT", "v"))) is not None  # the same answer or error
    assert _backend(_environ((1, "v"), ("HTTP_ACCEPT", "v"))) is not None


_KEYS = st.sampled_from(["HTTP_X_REQUEST_ID", "HTTP_X-REQUEST-ID", "HTTP_x_request_id",
                         "HTTP_X_Y", "HTTP_A", "HTTP_", "HTTP_ACCEPT", "HTTP_ACCEPT_",
                         "HTTP_USER_AGENT", "HTTP_ABCDEFGHI", "HTTP_ABCDEFGHZ",
                         "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "CONTENT_TYPE",
                         "CONTENT_LENGTH", "HTTP_X_" + "K" * 61, "HTTP_X_" + "K" * 125,
                         "HTTP_\u212aA", "SERVER_NAME", "HTTP_HOST", "wsgi.input"])
_VALUES = st.one_of(st.sampled_from(["v", "w", "v,w", ""]), st.sampled_from([b"v", b"", b"v,w"]),
                    st.sampled_from([0, 1, None, bytearray(b"v")]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=12), st.lists(_KEYS, max_size=3))
def test_twins_agree_on_environ_headers(items, removed):
    env = _environ(*items)
    for key in removed:
        env.pop(key, None)
    native, pure = _answers(env)
    assert native == pure
