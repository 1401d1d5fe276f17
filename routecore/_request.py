"""Reading a request as the spec sees it, shared by the pure twin, explain and CORS.

Invariants: nothing here depends on a rule table's internals (``request_parts`` reads only the
spec's path options and ``mesh``); header names are lower-cased and repeated values joined with
"," in request order; query parameters keep their first value, as received (not decoded).
"""
from __future__ import annotations

from typing import Optional

from ._paths import checked_host_key, request_path, split_target


def text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return str(value)


def header_pair(item) -> tuple:
    """One header item as (name, value), unpacked by Python itself: the native twin reads an
    item that is not a 2-tuple through this, so that both twins raise the same error, worded
    alike (Cython words its own unpacking errors otherwise)."""
    name, value = item
    return name, value


def header_map(headers) -> dict:
    """Every request header, lower-cased name -> values joined with "," in request order."""
    out: dict = {}
    if headers is None:
        return out
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        name, value = text(name).lower(), text(value)
        out[name] = value if name not in out else out[name] + "," + value
    return out


def query_map(query: Optional[str]) -> dict:
    """Query parameters, name -> first value, both as received (not percent-decoded)."""
    out: dict = {}
    if not query:
        return out
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.setdefault(name, value)
    return out


def request_parts(spec, method, target, headers, host):
    """(method, path, query, headers by lower name, host, host key) as the table sees them.
    The path is None when it is refused, the host key None when the Host is invalid (both: 400);
    on a mesh view a valid Host's key is "" (the Host plays no part in matching)."""
    path, query, authority = split_target(text(target))
    path = request_path(path, spec.normalize_path, spec.merge_slashes, spec.escaped_slashes)
    hmap = header_map(headers)
    if host is None:
        host = authority if authority is not None else hmap.get("host", hmap.get(":authority"))
    elif not isinstance(host, str):
        host = text(host)
    hk = checked_host_key(host)
    return text(method), path, query, hmap, host, ("" if spec.mesh and hk is not None else hk)
