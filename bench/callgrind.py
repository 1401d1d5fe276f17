"""Instructions (and L1 data misses) per decision under callgrind, counted inside the entry point
alone (``Table.route``, ``route_asgi``, ``route_wsgi`` or the floor), for fixed workloads.

    python bench/callgrind.py [CASE ...] [--cache] [--json OUT] [--check FILE] [--tolerance 0.03]

A CASE is WORKLOAD-N-FORM (bench/profile_route.py: FORM plain or one of workloads.FORMS), or
floor-FORM (bench/floor.pyx with the same arguments). Without CASEs it runs CASES. ``--cache``
adds the cache simulation (L1 data read misses, slower). ``--check FILE`` compares each case's
instructions with FILE's (written by ``--json``) and exits 1 when one grew by more than the
tolerance: the regression guard of .ci/run (bench/callgrind.json: GUARD's cases; measured
with one CPython and Cython release, skipped with another). Runs with PYTHONHASHSEED=0 so that dict probes of
the header names are the same every run.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUNDS = 2
CASES = ("gateway-10000-plain", "gateway-10000-pairs", "gateway-10000-asgi",
         "gateway-10000-mapping", "gateway-10000-wsgi", "gateway-10000-scope",
         "mesh-10000-plain", "mesh-10000-pairs", "mesh-10000-asgi", "mesh-10000-mapping",
         "mesh-10000-wsgi", "mesh-10000-scope",
         "gateway-10-plain", "mesh-10-plain", "floor-plain", "floor-pairs")
GUARD = ("gateway-10-plain", "mesh-10-plain", "gateway-10000-pairs", "mesh-10000-asgi",
         "gateway-10000-wsgi", "gateway-10000-scope")
ENTRY = {"wsgi": "route_wsgi", "scope": "route_asgi"}


def _symbol(so, method, cls):
    """The Cython wrapper of ``cls.method`` in the shared object ``so`` (its name carries a
    counter that moves when methods are added)."""
    out = subprocess.run(["nm", str(so)], capture_output=True, text=True, check=True).stdout
    pat = re.compile(rf"\b(__pyx_pw_\w*_{len(cls)}{cls}_\d+{method})$", re.M)
    if cls == "Table" and method == "route":  # a METH_FASTCALL function (_match_c_entry.pxi)
        pat = re.compile(r"\b(rc_route)$", re.M)
    if cls == "Table" and method in ("route_asgi", "route_wsgi"):  # (_match_c_adapt.pxi)
        pat = re.compile(rf"\b(rc_{method})$", re.M)
    found = pat.findall(out)
    if len(found) != 1:
        raise SystemExit(f"{so}: expected one wrapper of {cls}.{method}, found {found}")
    return found[0]


def _target(case):
    parts = case.split("-")
    if parts[0] == "floor":
        import floor
        so = floor._module().__file__
        form = parts[1]
        return so, ("route" if form == "plain" else "route_headers"), "Floor", \
            ["mesh", "10", str(ROUNDS), form, "--floor"]
    name, n, form = parts
    from routecore import _match_c
    return _match_c.__file__, ENTRY.get(form, "route"), "Table", [name, n, str(ROUNDS), form]


def measure(case, cache=False):
    """{"ir": instructions per decision, "d1mr": L1 data read misses per decision or None}."""
    sys.path.insert(0, str(HERE))
    so, method, cls, args = _target(case)
    sym = _symbol(so, method, cls)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               "--instr-atstart=no",
               "--collect-atstart=no", f"--toggle-collect={sym}"]
        if cache:
            cmd.append("--cache-sim=yes")
        cmd += [sys.executable, str(HERE / "profile_route.py")] + args
        env = dict(os.environ, PYTHONHASHSEED="0", ROUTECORE_CALLGRIND_ON="1")
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        text = out.read_text(errors="replace")
    events = re.search(r"^events:\s*(.+)$", text, re.M).group(1).split()
    totals = [int(x) for x in re.search(r"^(?:summary|totals):\s*(.+)$", text, re.M).group(1).split()]
    counts = dict(zip(events, totals))
    decisions = 256 * (ROUNDS + 2)
    return {"ir": counts["Ir"] / decisions,
            "d1mr": counts["D1mr"] / decisions if "D1mr" in counts else None}


def _toolchain():
    """What the counts depend on besides routecore: the CPython release and Cython's."""
    import Cython
    return "CPython %d.%d.%d, Cython %s" % (sys.version_info[:3] + (Cython.__version__,))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--check")
    ap.add_argument("--tolerance", type=float, default=0.03)
    args = ap.parse_args(argv)
    committed = {}
    if args.check:
        data = json.loads(Path(args.check).read_text())
        here = _toolchain()
        if data.get("toolchain") != here:  # CPython's and Cython's code differ between releases
            print(f"{args.check} was measured with {data.get('toolchain')}, this is {here}: "
                  "instruction guard skipped (re-measure with --json on this toolchain)")
            return 0
        committed = data["cases"]
    cases = args.cases or (list(committed) if committed else list(CASES))
    results, failed = {}, []
    for case in cases:
        r = results[case] = measure(case, args.cache)
        line = f"{case:24} {r['ir']:9,.0f} instructions/decision"
        if r["d1mr"] is not None:
            line += f"  {r['d1mr']:6.1f} L1d misses"
        if case in committed:
            ref = committed[case]["ir"]
            change = r["ir"] / ref - 1
            line += f"  (committed {ref:,.0f}: {change:+.1%})"
            if change > args.tolerance:
                failed.append(case)
                line += "  REGRESSION"
        print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"toolchain": _toolchain(),
             "cases": {c: {"ir": round(r["ir"], 1)} for c, r in results.items()}}, indent=1) + "\n")
    if failed:
        print(f"instruction counts grew by more than {args.tolerance:.0%}: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
