"""Load (and optionally compile) one workload at scale in this fresh interpreter; print one JSON line.

    python bench/load_scale.py gateway 100000 [--compile] [--yaml] [--rounds 3]

Figures: ``load_s`` / ``load_cpu_s`` (the best of ``--rounds`` runs of ``routecore.load``: wall
clock and this process's CPU time, which other processes on a busy machine disturb less),
``config_bytes_per_rule`` (growth of the resident set over one load, after a full collection),
with ``--compile`` ``compile_s`` / ``compile_cpu_s`` (one build: wall clock, CPU time) and ``bytes_per_rule`` (config + router + view), and
``max_rss_mb`` (the process's peak resident set, workload objects included). ``--yaml``: the
objects are written out as one multi-document YAML text first, and that text is loaded.
Issue 15 item 5's targets: load + compile at 100,000 routes <= 3 s and <= 1.5 KB per rule.
"""
import argparse
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import routecore  # noqa: E402
import workloads  # noqa: E402


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(workloads.WORKLOADS))
    ap.add_argument("n", type=int)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--yaml", action="store_true")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    make = workloads.WORKLOADS[args.workload]
    wl = make(args.n)
    source = wl.objects
    routecore.load(make(10).objects)  # imports and first-use work: not part of the figures
    if args.yaml:
        import yaml
        source = yaml.dump_all(source, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    out = {"workload": args.workload, "n": args.n, "yaml": args.yaml}
    walls, cpus = [], []
    for _ in range(args.rounds):
        gc.collect()
        before = rss()
        c0, t0 = time.process_time(), time.perf_counter()
        config = routecore.load(source)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        gc.collect()
        grown = rss() - before
        if len(walls) < args.rounds:
            del config
    rules = sum(len(r.rules) for r in config.routes)
    out.update(rules=rules, load_s=round(min(walls), 3), load_cpu_s=round(min(cpus), 3),
               config_bytes_per_rule=round(grown / rules))
    if args.compile:
        c0, t0 = time.process_time(), time.perf_counter()
        view = wl.bind(routecore.Router(config, seed=1))
        out["compile_s"] = round(time.perf_counter() - t0, 3)
        out["compile_cpu_s"] = round(time.process_time() - c0, 3)
        gc.collect()
        out["bytes_per_rule"] = round((rss() - before) / rules)
        del view
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
