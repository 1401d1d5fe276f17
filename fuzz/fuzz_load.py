#!/usr/bin/env python3
"""Coverage-guided fuzzing of ``routecore.load()`` (atheris/libFuzzer).

Input bytes -> a YAML/JSON text (or the raw bytes) -> ``load(source, strict=...)``; when it
loads, the Config is also compiled (``Router``, native core and pure twin) and every view it
declares is built and asked one request. A finding is:

- any exception from ``load`` other than ``routecore.ConfigError``;
- any exception at all from compiling a Config that loaded, or from routing on it;
- a crash or a hang (libFuzzer's -timeout, default here 25 s per input).

The text is never taken for a path: a single-line input gets a trailing newline (load() reads a
one-line string that names an existing file or ends in .yaml/.json as a path).

Run:  python fuzz/fuzz_load.py fuzz/corpus/load -max_total_time=60
"""
import os
import sys

import atheris

with atheris.instrument_imports(include=["routecore", "yaml"]):
    import routecore
    from routecore import _match

NATIVE = _match.NativeTable is not None

# Findings already reported and not yet fixed can be tolerated while hunting for new ones:
# ROUTECORE_FUZZ_KNOWN=bytes-utf8,json-depth,yaml-timestamp (empty by default: CI fails on them).
KNOWN = set(filter(None, os.environ.get("ROUTECORE_FUZZ_KNOWN", "").split(",")))


def _frames(exc):
    tb, names = exc.__traceback__, []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return " ".join(names)


def _known(exc):
    if "bytes-utf8" in KNOWN and isinstance(exc, UnicodeDecodeError):
        return True  # load(b"\xff\n") raises UnicodeDecodeError, not ConfigError
    if "json-depth" in KNOWN and isinstance(exc, RecursionError):
        return True  # load("[" * 100000) raises RecursionError from json.loads
    if "yaml-timestamp" in KNOWN and type(exc) is ValueError and "yaml" in _frames(exc):
        return True  # load("a: 2024-13-01\n"): PyYAML's timestamp constructor raises ValueError
    return False

# a mutation of the seed corpus often becomes another valid config; give it a request to route
_REQUEST = ("GET", "/api/x?v=2", [("host", "shop.example.com"), ("x-env", "prod")])


def _views(router):
    cfg = router.config
    for gw in cfg.gateways:
        for port in sorted({l.port for l in gw.listeners}):
            yield ("gateway", gw.name, gw.namespace, port)
    seen = set()
    for route in cfg.routes:
        for ref in route.parent_refs:
            if getattr(ref, "kind", None) == "Service" and getattr(ref, "port", None):
                key = ("service", ref.name, ref.namespace, ref.port)
                if key not in seen:
                    seen.add(key)
                    yield key


def _exercise(config):
    out = []
    for native in ((False, True) if NATIVE else (False,)):
        router = routecore.Router(config, seed=1, native=native)
        ds = []
        for kind, name, ns, port in list(_views(router))[:8]:
            try:
                view = getattr(router, kind)(name, ns, port)
            except LookupError:
                continue  # e.g. a Service parentRef whose Service is not among the Services given
            method, target, headers = _REQUEST
            ds.append(view.route(method, target, headers).to_dict())
        out.append(ds)
    if len(out) == 2 and out[0] != out[1]:
        raise AssertionError(f"native and python twins disagree: {out[0]} != {out[1]}")


def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    strict = fdp.ConsumeBool()
    rest = fdp.ConsumeBytes(fdp.remaining_bytes())
    if mode == 3:
        # bytes are a documented-by-code source (decoded as UTF-8); must not be read as a path
        source = rest if b"\n" in rest else rest + b"\n"
    else:
        source = rest.decode("utf-8", "replace")
        if "\n" not in source:
            source += "\n"
    try:
        config = routecore.load(source, strict=strict)
    except routecore.ConfigError:
        return
    except Exception as exc:  # noqa: BLE001 - a finding unless listed in ROUTECORE_FUZZ_KNOWN
        if _known(exc):
            return
        raise
    _exercise(config)


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
