"""Route one bench workload in a loop, for profilers (callgrind, perf, py-spy).

    python bench/profile_route.py WORKLOAD N ROUNDS [FORM] [--pure] [--floor]

WORKLOAD is mesh or gateway; FORM is "plain" (bench/workloads.py's requests as they are: one
header or two, ``host=`` as a keyword: what test_bench_route.py times) or one of
workloads.FORMS (REAL_HEADERS, the Host in the headers): pairs, asgi and mapping go through
``view.route``, wsgi through ``view.route_wsgi``, scope through ``view.route_asgi``. ``--floor``
calls bench/floor.pyx's ``Floor.route_headers`` (``Floor.route`` for plain) with the same
arguments instead. Routes the 256 requests twice to warm up, then ROUNDS times.

bench/callgrind.py runs this under callgrind and counts the instructions of the entry point
alone; bench/PROFILE.md has the figures.
"""
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import routecore  # noqa: E402

import workloads  # noqa: E402


def calls(name, n, form, pure=False, floor=False):
    """(function, list of (args, kwargs)): what one round calls, in order."""
    if floor:
        import floor as _floor
        f = _floor.floor()
        view = None
    else:
        wl = workloads.WORKLOADS[name](n)
        view = wl.bind(routecore.Router(routecore.load(wl.objects), seed=1, native=not pure))
    if form == "plain":
        reqs = workloads.WORKLOADS[name](n).requests
        fn = f.route if floor else view.route
        return fn, [((m, t, h), {"host": host}) for m, t, h, host in reqs]
    reqs = workloads.real(name, n, form)
    if form == "wsgi":
        if floor:
            return f.route_headers, [((r.method, r.target, r.headers), {}) for r in reqs]
        return view.route_wsgi, [((r.headers,), {}) for r in reqs]
    if form == "scope":
        if floor:
            return f.route_headers, [((r.method, r.target, r.headers["headers"]), {}) for r in reqs]
        return view.route_asgi, [((r.headers,), {}) for r in reqs]
    fn = f.route_headers if floor else view.route
    return fn, [((r.method, r.target, r.headers), {}) for r in reqs]


def main(argv):
    name, n, rounds = argv[0], int(argv[1]), int(argv[2])
    rest = [a for a in argv[3:] if not a.startswith("--")]
    form = rest[0] if rest else "plain"
    fn, todo = calls(name, n, form, "--pure" in argv, "--floor" in argv)

    def run(times):
        for _ in range(times):
            for args, kwargs in todo:
                fn(*args, **kwargs)

    if os.environ.get("ROUTECORE_CALLGRIND_ON"):  # bench/callgrind.py: instrument from here on
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True,
                       stdout=subprocess.DEVNULL)
    run(2)
    run(rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
