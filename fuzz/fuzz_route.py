#!/usr/bin/env python3
"""Coverage-guided fuzzing of ``view.route()`` on fixed tables, both twins (atheris/libFuzzer).

Input bytes -> (options set, view, method, target, headers, host, sni), each as str or bytes;
every request goes to the pure twin and to the native core built from the same Config (same
seed, so weighted choices draw in lock-step) and both ``to_dict()`` are compared, as are
``apply_request_headers``/``apply_response_headers``. A finding is:

- any exception from ``route()`` or from reading the Decision (either twin);
- the twins disagreeing;
- a crash of the process (libFuzzer reports it).

Run:  python fuzz/fuzz_route.py fuzz/corpus/route -max_total_time=60
      (see fuzz/README.md for long runs, reproducing a crash file and -atheris_runs=N)
"""
import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["routecore"]):
    import routecore  # noqa: F401
    from routecore import _match, _match_py, _outcome, _paths  # noqa: F401

import tables  # noqa: E402

if _match.NativeTable is None:
    sys.exit("fuzz_route: the native extension is not built (pip install -e .)")

ROUTERS = tables.routers()
VIEWS = [[(tables.view(py, v), tables.view(nat, v)) for v in tables.VIEWS]
         for _, py, nat in ROUTERS]

# Findings already reported and not yet fixed can be tolerated while hunting for new ones:
# ROUTECORE_FUZZ_KNOWN=surrogate (empty by default: CI fails on them).
KNOWN = set(filter(None, os.environ.get("ROUTECORE_FUZZ_KNOWN", "").split(",")))


def _known(exc):
    # a str with a lone surrogate ("\ud800", "\udcff" from surrogateescape) reaching an RE2
    # fullmatch (path, header or query regex) raises UnicodeEncodeError
    return "surrogate" in KNOWN and isinstance(exc, UnicodeEncodeError) and "surrogates" in str(exc)


METHODS = ["GET", "POST", "OPTIONS", "HEAD", "DELETE", "get", "", "G\x00T", "GET "]
HEADER_NAMES = ["host", "Host", "HOST", ":authority", "content-type", "x-env", "X-Env", "x-id",
                "x-canary", "x-redos", "x-alt", "x-rep", "x-grpc", "origin",
                "access-control-request-method", "access-control-request-headers",
                "my-favorite-service-mesh", "x-drop", "x-re", "X-\u212a", "\u0130", "x\x00"]
HEADER_VALUES = ["prod", "deadbeef", "true", "1", "application/grpc", "application/grpc+proto",
                 "https://app.example.com", "GET", "istio", "shop.example.com",
                 "admin.example.com:8080", "A.EXAMPLE.ORG.", "[::1]:80", "a" * 40 + "!", "xy"]
TARGET_PIECES = ["/", "/admin", "/public", "/..", "/.", "/api", "/old", "/re/abc/12", "/h",
                 "/items/7", "/q", "?a=1", "&b=xzy", "?v=2", "#frag", "%2F", "%2e", "%41", "%",
                 "//", "/hdr", "/rx/aaa", "/pkg.Greeter/Hello", "/pkg.X/GetY", "/cors", "/rw",
                 "/redir", "/none", "/default", "http://shop.example.com", "https://h:1",
                 "*", "h:443", "/\u00e9", "/\ud800", "\x00", "\r\n", " "]
HOSTS = [None, "shop.example.com", "admin.example.com", "SHOP.Example.COM.", "x.example.org",
         "a.example.org", "b.a.example.org:443", "", "[::1]", "example.com", "\u212a.example.com"]


def _text(fdp, pool, maxlen):
    """A pool item, a free-form string, or a concatenation of pool items."""
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 0:
        return fdp.PickValueInList(pool)
    if mode == 1:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, maxlen))
    if mode == 2:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, maxlen))  # may hold surrogates
    return "".join(fdp.PickValueInList(pool) for _ in range(fdp.ConsumeIntInRange(0, 6)))


def _maybe_bytes(fdp, s):
    """Sometimes the same value as bytes (latin-1 when it fits, else raw fuzz bytes)."""
    if s is None or not fdp.ConsumeBool():
        return s
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return fdp.ConsumeBytes(len(s))


def _request(fdp):
    method = _maybe_bytes(fdp, _text(fdp, METHODS, 8))
    target = _maybe_bytes(fdp, _text(fdp, TARGET_PIECES, 64))
    headers = []
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        name = _maybe_bytes(fdp, _text(fdp, HEADER_NAMES, 16))
        value = _maybe_bytes(fdp, _text(fdp, HEADER_VALUES, 48))
        headers.append((name, value))
    shape = fdp.ConsumeIntInRange(0, 2)
    if shape == 1:
        headers = dict(headers)
    elif shape == 2:
        headers = tuple(headers)
    host = _maybe_bytes(fdp, fdp.PickValueInList(HOSTS) if fdp.ConsumeBool() else _text(fdp, HOSTS[1:], 32))
    if fdp.ConsumeBool():
        host = None
    sni = fdp.PickValueInList([None, None, "a.example.org", "b.example.org", "shop.example.com", ""])
    return method, target, headers, host, sni


def _observe(d):
    return (d.to_dict(), d.apply_request_headers([("x-drop", "1"), ("x-keep", "2")]),
            d.apply_response_headers([]), repr(d))


def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    views = VIEWS[fdp.ConsumeIntInRange(0, len(VIEWS) - 1)]
    py, nat = views[fdp.ConsumeIntInRange(0, len(views) - 1)]
    method, target, headers, host, sni = _request(fdp)
    try:
        a = _observe(py.route(method, target, headers, host=host, sni=sni))
    except Exception as exc:  # noqa: BLE001
        if not _known(exc):
            raise
        a = ("raised", type(exc).__name__)
    try:
        b = _observe(nat.route(method, target, headers, host=host, sni=sni))
    except Exception as exc:  # noqa: BLE001
        if not _known(exc):
            raise
        b = ("raised", type(exc).__name__)
    if a[0] == "raised" or b[0] == "raised":
        return  # a known finding: the twins may differ on whether they reach the regex
    if a[:3] != b[:3]:
        raise AssertionError(
            "native and python twins disagree\n"
            f"request: method={method!r} target={target!r} headers={headers!r} host={host!r} sni={sni!r}\n"
            f"python: {a}\nnative: {b}")


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
