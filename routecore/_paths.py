"""Request-target, path and host helpers shared by both twins (the slow paths of the native one).

Invariants: every function here is pure and total: any str gives a str (or a defined None),
never an exception, so a malformed request can never crash a decision. ``normalize_path`` is
idempotent (its output, normalised again, is itself), so the path a decision was made on is the
path that goes upstream, and a second hop that normalises again decides the same. None from
``normalize_path`` / ``checked_host_key`` means "refused": the request gets a 400 decision.
"""
from __future__ import annotations

from typing import Optional, Tuple

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = "0123456789abcdefABCDEF"


def split_target(target: str) -> Tuple[str, Optional[str], Optional[str]]:
    """Split a request-target into (path, query or None, authority from absolute-form or None).

    origin-form "/p?q" is the common case. absolute-form "http://h:1/p?q" gives its authority.
    An empty path becomes "/". Anything else ("*", authority-form "h:443") is kept as the path:
    it starts with no "/" and so matches no Exact or PathPrefix rule.
    """
    authority = None
    if not target.startswith("/"):
        low = target[:8].lower()
        if low.startswith("http://") or low.startswith("https://"):
            rest = target[target.index("//") + 2:]
            cut = len(rest)
            for sep in "/?#":
                i = rest.find(sep)
                if i != -1 and i < cut:
                    cut = i
            authority = rest[:cut]
            target = rest[cut:]
            if not target.startswith("/"):
                target = "/" + target
    hash_at = target.find("#")
    if hash_at != -1:
        target = target[:hash_at]
    q = target.find("?")
    if q == -1:
        path, query = target, None
    else:
        path, query = target[:q], target[q + 1:]
    if not path:
        path = "/"
    return path, query, authority


ESCAPED_SLASHES = ("reject", "keep", "unescape")


def request_path(path: str, dots: bool = True, merge_slashes: bool = False,
                 escaped_slashes: str = "reject") -> Optional[str]:
    """The path as routing compares it and sends upstream under the Router's options
    (``normalize_path`` is ``dots``); ``path`` itself when there is nothing to do, None when the
    path is refused (the decision is 400)."""
    if (dots and ("%" in path or "/." in path or "\\" in path)) or (merge_slashes and "//" in path):
        return normalize_path(path, dots=dots, merge_slashes=merge_slashes,
                              escaped_slashes=escaped_slashes)
    return path


def normalize_path(path: str, *, dots: bool = True, merge_slashes: bool = False,
                   escaped_slashes: str = "reject") -> Optional[str]:
    """The normalised path, or None when it is refused. Idempotent: for every str ``p`` whose
    result ``n`` is not None, ``normalize_path(n) == n`` (same options).

    With ``dots`` (the Router's ``normalize_path``), in this order:
    1. percent-escapes are decoded in ONE pass whose output is never scanned again: an escape of
       an unreserved character becomes the character, any other escape stays, its hex digits
       upper-cased (RFC 3986 6.2.2); a "%" not followed by two hex digits refuses the path;
    2. "%2F", "%5C" and a raw "\\" refuse the path (``escaped_slashes="reject"``), are kept as
       ordinary characters ("keep"), or all become "/" ("unescape");
    3. with ``merge_slashes``, runs of "/" become one;
    4. a segment that is "." or ".." followed by ";" (a path parameter, "..;") refuses the path;
    5. dot-segments are removed (RFC 3986 5.2.4); a path ending in "/." or "/.." keeps its "/".
    Without ``dots`` only step 3 applies.
    """
    if dots:
        if "%" in path:
            out, i, n = [], 0, len(path)
            while i < n:
                c = path[i]
                if c != "%":
                    out.append(c)
                    i += 1
                    continue
                if i + 2 >= n or path[i + 1] not in _HEX or path[i + 2] not in _HEX:
                    return None  # a malformed escape
                ch = chr(int(path[i + 1:i + 3], 16))
                out.append(ch if ch in _UNRESERVED else "%" + path[i + 1:i + 3].upper())
                i += 3
            path = "".join(out)
        if "%2F" in path or "%5C" in path or "\\" in path:
            if escaped_slashes == "reject":
                return None
            if escaped_slashes == "unescape":
                path = path.replace("%2F", "/").replace("%5C", "/").replace("\\", "/")
    if merge_slashes:
        while "//" in path:
            path = path.replace("//", "/")
    if not dots or "/." not in path or not path.startswith("/"):
        return path
    segments = path.split("/")[1:]
    out = []
    for seg in segments:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            if seg[:1] == "." and seg.split(";", 1)[0] in (".", ".."):
                return None  # "..;x": a dot-segment to servers that strip path parameters
            out.append(seg)
    # a path that ended in "/." or "/.." keeps its trailing slash
    if segments and segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


_REG_NAME = frozenset(_UNRESERVED | set("!$&'()*+,;="))
_IPV6 = frozenset("0123456789abcdefABCDEF:.")
_DIGITS = frozenset("0123456789")


def valid_host(host: str) -> bool:
    """Host / :authority syntax (RFC 9110 7.2, RFC 3986 3.2.2): a non-empty reg-name of
    unreserved and sub-delims characters (no "%" escapes, nothing outside ASCII), or "[" IPv6
    "]" (hex digits, ":" and "."), then optionally ":" and digits. "" (no Host) is valid."""
    if not host:
        return True
    if host[0] == "[":
        end = host.find("]")
        if end < 2 or not _IPV6.issuperset(host[1:end]):
            return False
        rest = host[end + 1:]
    else:
        colon = host.find(":")
        name = host if colon == -1 else host[:colon]
        rest = "" if colon == -1 else host[colon:]
        if not name or not _REG_NAME.issuperset(name):
            return False
    return not rest or (rest[0] == ":" and _DIGITS.issuperset(rest[1:]))


def checked_host_key(host: Optional[str]) -> Optional[str]:
    """``host_key(host)``, or None when ``host`` is not a valid Host (the decision is 400)."""
    return host_key(host) if not host or valid_host(host) else None


def host_key(host: Optional[str]) -> str:
    """The Host value as routing compares it: lower-case, without ":port", brackets kept for IPv6."""
    if not host:
        return ""
    if host.startswith("["):
        end = host.find("]")
        host = host[:end + 1] if end != -1 else host
    else:
        colon = host.rfind(":")
        if colon != -1:
            host = host[:colon]
    if host.endswith("."):
        host = host[:-1]
    return host.lower()


def prefix_matches(prefix: str, path: str) -> bool:
    """Segment-wise PathPrefix test; ``prefix`` is normalised (no trailing slash, "/" is "")."""
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/")


def hostname_matches(pattern: str, host: str) -> bool:
    """Gateway API hostname match: "*.x.com" covers one or more labels before ".x.com"."""
    if pattern.startswith("*."):
        return (host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
                and not host.startswith(".") and ".." not in host)
    return host == pattern


def replace_prefix(path: str, prefix: str, replacement: str) -> str:
    """ReplacePrefixMatch (digest 5.3): replacement without trailing "/" + rest after the prefix."""
    rest = path[len(prefix):]
    head = replacement.rstrip("/")
    out = head + rest
    if not out.startswith("/"):
        out = "/" + out
    return out
