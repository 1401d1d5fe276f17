"""routecore._paths: request-target splitting, normalisation, host keys, prefix rewriting."""
import pytest
from hypothesis import given, strategies as st

from routecore._paths import (ESCAPED_SLASHES, checked_host_key, host_key, hostname_matches,
                              normalize_path, prefix_matches, replace_prefix, request_path,
                              split_target, valid_host)


@pytest.mark.parametrize("target, expected", [
    ("/a/b?x=1&y", ("/a/b", "x=1&y", None)),
    ("/a", ("/a", None, None)),
    ("", ("/", None, None)),
    ("?q", ("/", "q", None)),
    ("/a#frag", ("/a", None, None)),
    ("/a?x#frag", ("/a", "x", None)),
    ("http://Shop.example.com:8080/p?q=1", ("/p", "q=1", "Shop.example.com:8080")),
    ("HTTPS://h", ("/", None, "h")),
    ("https://h?x", ("/", "x", "h")),
    ("*", ("*", None, None)),
    ("example.com:443", ("example.com:443", None, None)),
])
def test_split_target(target, expected):
    assert split_target(target) == expected


@pytest.mark.parametrize("path, expected", [
    ("/a/./b", "/a/b"),
    ("/a/../b", "/b"),
    ("/../../b", "/b"),
    ("/a/b/..", "/a/"),
    ("/a/b/.", "/a/b/"),
    ("/%7Euser", "/~user"),
    ("/%61%62c", "/abc"),
    ("/%2e%2e/x", "/x"),
    ("/a%3bb", "/a%3Bb"),              # reserved escapes stay, hex upper-cased
    ("/a%252e%252e/x", "/a%252e%252e/x"),  # "%25" is "%": decoded once, never again
    ("/a/.hidden", "/a/.hidden"),
    ("/a/..x/b", "/a/..x/b"),
    ("/plain", "/plain"),
    # refused (None: the decision is 400)
    ("/a/%", None),                      # a "%" without two hex digits after it
    ("/a/%4", None),
    ("/a/%zz", None),
    ("/public/%%32%65%%32%65/admin", None),  # issue 11: was "/public/%2e%2e/admin"
    ("/%%32%45e", None),                 # issue 11: was "/%2Ee", then "/.e"
    ("/a%2Fb", None),                    # escaped slashes and backslashes (the default)
    ("/a%2fb", None),
    ("/a%5cb", None),
    ("/a\\b", None),
    ("/public/..;/admin", None),         # "..;": ".." to servers that strip path parameters
    ("/public/.;x/admin", None),
    ("/public/%2e%2e;/admin", None),
])
def test_normalize_path(path, expected):
    assert normalize_path(path) == expected


@pytest.mark.parametrize("path, action, expected", [
    ("/a%2Fb", "keep", "/a%2Fb"),
    ("/a%2fb", "keep", "/a%2Fb"),
    ("/public/..%2Fadmin", "keep", "/public/..%2Fadmin"),   # not a separator: one segment
    ("/public\\..\\admin", "keep", "/public\\..\\admin"),
    ("/public/..%2Fadmin", "unescape", "/admin"),
    ("/public/%2e%2e%5cadmin", "unescape", "/admin"),
    ("/public\\..\\admin", "unescape", "/admin"),
    ("/a%2Fb", "reject", None),
])
def test_escaped_slashes(path, action, expected):
    assert normalize_path(path, escaped_slashes=action) == expected


@pytest.mark.parametrize("path, expected", [
    # the empty segment is a segment: ".." removes it (the normalised path is what goes
    # upstream, so an upstream that merges slashes sees "/public/admin", not "/admin")
    ("/public//../admin", "/public/admin"),
    ("/public/..//admin", "//admin"),
    ("//admin", "//admin"),
])
def test_double_slashes_without_merge(path, expected):
    assert normalize_path(path) == expected


OPTIONS = st.fixed_dictionaries({"dots": st.booleans(), "merge_slashes": st.booleans(),
                                 "escaped_slashes": st.sampled_from(ESCAPED_SLASHES)})
PATHS = st.one_of(st.text(), st.text(alphabet="/.;%25eEfF7aA\\\\", max_size=40).map(lambda p: "/" + p))


@given(PATHS, OPTIONS)
def test_normalize_path_is_idempotent(path, options):
    """For EVERY str: the normalised path, normalised again, is itself (or it is refused)."""
    once = normalize_path(path, **options)
    if once is None:
        return
    assert isinstance(once, str)
    assert normalize_path(once, **options) == once
    assert request_path(once, options["dots"], options["merge_slashes"], options["escaped_slashes"]) == once
    if options["dots"] and once.startswith("/"):
        assert "/./" not in once + "/" and "/../" not in once + "/"


@given(PATHS, OPTIONS)
def test_request_path_is_normalize_path(path, options):
    assert request_path(path, options["dots"], options["merge_slashes"], options["escaped_slashes"]) == \
        normalize_path(path, **options)


@pytest.mark.parametrize("host, ok", [
    ("shop.example.com", True), ("shop.example.com:8080", True), ("shop.example.com:", True),
    ("SHOP.example.com.", True), ("[::1]", True), ("[::1]:80", True), ("[::ffff:1.2.3.4]", True),
    ("127.0.0.1:9101", True), ("a_b~c-d!$&'()*+,;=", True), ("", True),
    ("evil.com/x.example.com", False), ("evil.com?x", False), ("evil.com#x", False),
    ("evil.com\\x", False), ("user@shop.example.com", False), ("a b", False), ("a\tb", False),
    ("a\r\nb", False), ("a\x00", False), ("a\x7f", False), ("\u00e4.example.com", False),
    ("a%2eb", False), (":80", False), ("a:80:80", False), ("a:8x", False), ("[::1", False),
    ("[]", False), ("[::1]x", False), ("[v1.x]", False), ("[::1]:8x", False),
])
def test_valid_host(host, ok):
    assert valid_host(host) is ok
    assert (checked_host_key(host) is not None) is ok


@given(st.text())
def test_checked_host_key_is_total(host):
    key = checked_host_key(host)
    assert key is None or key == host_key(host)


@pytest.mark.parametrize("host, expected", [
    ("Shop.Example.COM", "shop.example.com"),
    ("shop.example.com:8080", "shop.example.com"),
    ("shop.example.com.", "shop.example.com"),
    ("shop.example.com.:80", "shop.example.com"),
    ("[::1]:8080", "[::1]"),
    ("[::1]", "[::1]"),
    ("", ""),
    (None, ""),
])
def test_host_key(host, expected):
    assert host_key(host) == expected


@pytest.mark.parametrize("pattern, host, ok", [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", ".example.com", False),
    ("*.com", "example.com", True),
    ("a.example.com", "a.example.com", True),
    ("a.example.com", "b.example.com", False),
])
def test_hostname_matches(pattern, host, ok):
    assert hostname_matches(pattern, host) is ok


@pytest.mark.parametrize("prefix, path, ok", [
    ("/abc", "/abc", True), ("/abc", "/abc/", True), ("/abc", "/abc/x", True),
    ("/abc", "/abcd", False), ("", "/anything", True), ("", "/", True), ("/abc", "/ab", False),
])
def test_prefix_matches(prefix, path, ok):
    assert prefix_matches(prefix, path) is ok


@pytest.mark.parametrize("path, replacement, expected", [
    ("/foo/bar", "/xyz", "/xyz/bar"), ("/foo/bar", "/xyz/", "/xyz/bar"), ("/foo/bar", "", "/bar"),
    ("/foo", "/xyz", "/xyz"), ("/foo", "", "/"), ("/foo", "/", "/"),
    ("/foo/", "/xyz", "/xyz/"), ("/foo/", "", "/"), ("/foo/", "/", "/"),
])
def test_replace_prefix_table(path, replacement, expected):
    assert replace_prefix(path, "/foo", replacement) == expected


@pytest.mark.parametrize("path, dots, merge, expected", [
    ("/a//b", True, False, "/a//b"),
    ("/a//b", True, True, "/a/b"),
    ("/a//b", False, True, "/a/b"),
    ("/public/..//admin", True, True, "/admin"),
    ("/a/./b", False, True, "/a/./b"),
    ("///", False, True, "/"),
    ("/plain", True, True, "/plain"),
])
def test_request_path_options(path, dots, merge, expected):
    from routecore._paths import request_path

    assert request_path(path, dots, merge) == expected
