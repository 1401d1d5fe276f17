"""Request-target, path and host helpers shared by both twins (the slow paths of the native one).

Invariants: every function here is pure and total: any str gives a str (or a defined None),
never an exception, so a malformed request can never crash a decision.
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


def request_path(path: str, dots: bool = True, merge_slashes: bool = False) -> str:
    """The path as routing compares it under the Router's options (``normalize_path`` is
    ``dots``); returns ``path`` itself when there is nothing to do."""
    if (dots and ("%" in path or "/." in path)) or (merge_slashes and "//" in path):
        return normalize_path(path, dots=dots, merge_slashes=merge_slashes)
    return path


def normalize_path(path: str, *, dots: bool = True, merge_slashes: bool = False) -> str:
    """With ``dots``: decode percent-encoded unreserved characters and remove dot-segments
    (RFC 3986 5.2.4); with ``merge_slashes``: collapse runs of "/" first, so "/a//../b" is "/b"."""
    if dots and "%" in path:
        out, i, n = [], 0, len(path)
        while i < n:
            c = path[i]
            if c == "%" and i + 2 < n and path[i + 1] in _HEX and path[i + 2] in _HEX:
                ch = chr(int(path[i + 1:i + 3], 16))
                if ch in _UNRESERVED:
                    out.append(ch)
                else:  # keep reserved escapes as they are, upper-cased (RFC 3986 6.2.2.1)
                    out.append("%" + path[i + 1:i + 3].upper())
                i += 3
            else:
                out.append(c)
                i += 1
        path = "".join(out)
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
            out.append(seg)
    # a path that ended in "/." or "/.." keeps its trailing slash
    if segments and segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


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
