"""routecore._paths: request-target splitting, normalisation, host keys, prefix rewriting."""
import pytest
from hypothesis import given, strategies as st

from routecore._paths import (host_key, hostname_matches, normalize_path, prefix_matches,
                              replace_prefix, split_target)


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
    ("/a%2Fb", "/a%2Fb"),
    ("/a%2fb", "/a%2Fb"),
    ("/%2e%2e/x", "/x"),
    ("/a/%", "/a/%"),
    ("/a/%4", "/a/%4"),
    ("/a/.hidden", "/a/.hidden"),
    ("/plain", "/plain"),
])
def test_normalize_path(path, expected):
    assert normalize_path(path) == expected


@given(st.text(alphabet="/.%2eEfF7a", max_size=30))
def test_normalize_path_is_total_and_idempotent_on_dots(path):
    once = normalize_path("/" + path)
    assert isinstance(once, str)
    assert "/./" not in once and "/../" not in once


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
