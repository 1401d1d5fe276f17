"""Turn a saved run of bench/test_bench_peers.py into a Markdown table and a log-log plot.

    pytest bench/test_bench_peers.py --benchmark-only --benchmark-json=.benchmarks/peers.json
    python bench/report.py .benchmarks/peers.json --markdown bench/results.md --plot bench/results.png

The table gives, per workload and N, the median time of one decision (the median time of one
call, which routes the whole request list, divided by the list's length) for each contender, and
its ratio to routecore's; cells a contender cannot do are marked and explained under the table.
The plot draws ns/decision against N, log-log, one panel per workload, one line per contender,
with the floor (an empty Cython call in the same loop) as a dashed line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from peers import workloads  # noqa: E402

TITLES = {
    "paths": "paths: Exact and PathPrefix rules only, 10 % misses",
    "mesh": "mesh: one Service, path prefixes, exact paths, canary headers, query and method matches",
    "gateway": "gateway: N routes over N/10 hostnames (10 % wildcards), one listener",
    "regex": "regex: N RegularExpression path rules, 10 % near misses and misses",
    "envoy": "Envoy's speed-test shape: N prefix routes, every request hits the last in precedence",
}


def load(path):
    data = json.loads(Path(path).read_text())
    cells, floor = {}, None
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        if not info.get("decisions"):
            continue
        ns = b["stats"]["median"] / info["decisions"] * 1e9
        if info.get("contender") == "floor":
            floor = ns
            continue
        if "contender" in info:
            cells[(info["workload"], info["n"], info["contender"])] = (ns, info["decisions"])
    return data, cells, floor


def machine(data) -> str:
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {})
    brand = cpu.get("brand_raw") or mi.get("processor") or "unknown CPU"
    count = cpu.get("count")
    py = f"{mi.get('python_implementation', 'Python')} {mi.get('python_version', '?')}"
    when = (data.get("datetime") or "")[:10]
    commit = (data.get("commit_info") or {}).get("id", "")[:10]
    parts = [brand + (f", {count} logical CPUs" if count else ""), py]
    if when:
        parts.append(when)
    if commit:
        parts.append(f"commit {commit}")
    return "; ".join(parts)


def _fmt(ns):
    if ns >= 100_000:
        return f"{ns / 1000:,.0f} µs"
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} µs"
    return f"{ns:,.0f}"


def _ratio(r):
    if r >= 10:
        return f"{r:,.0f}×"
    return f"{r:.1f}×" if r >= 1 else f"{r:.2g}×"


def markdown(data, cells, floor) -> str:
    out = [f"Median time of one routing decision (ns unless marked µs) and, in brackets, its ratio "
           f"to routecore's. Measured on: {machine(data)}."]
    if floor is not None:
        out.append(f"Floor (an empty Cython method with `view.route`'s signature, in the same "
                   f"loop): **{_fmt(floor)} ns**.")
    out.append("")
    for wl_name, sizes in workloads.WORKLOAD_SIZES.items():
        rows = [n for n in sizes if any((wl_name, n, c) in cells for c in peers.CONTENDERS)]
        if not rows:
            continue
        out.append(f"### {TITLES.get(wl_name, wl_name)}")
        out.append("")
        cols = [c for c in peers.CONTENDERS
                if any((wl_name, n, c) in cells for n in rows)]
        skipped = {}
        for c in peers.CONTENDERS:
            if c in cols:
                continue
            skipped[c] = peers.cannot(c, workloads.WORKLOADS[wl_name](rows[-1])) or "not run"
        head = ["N"] + [f"`{c}`" for c in cols]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---:"] * len(head)) + "|")
        cut = set()
        full = workloads.N_REQUESTS
        for n in rows:
            base = cells.get((wl_name, n, "routecore"), (None,))[0]
            line = [f"{n:,}"]
            for c in cols:
                cell = cells.get((wl_name, n, c))
                if cell is None:
                    line.append("–")
                    continue
                ns, decisions = cell
                text = _fmt(ns)
                if c == "routecore" and floor:
                    text = f"**{text}** ({_ratio(ns / floor)} floor)"
                elif base:
                    text += f" ({_ratio(ns / base)})"
                if decisions < full:
                    text += " †"
                    cut.add(decisions)
                line.append(text)
            out.append("| " + " | ".join(line) + " |")
        out.append("")
        for c, why in skipped.items():
            out.append(f"- `{c}` skipped: {why}.")
        if cut:
            span = f"{min(cut)}" if min(cut) == max(cut) else f"{min(cut)}–{max(cut)}"
            out.append(f"- † slow cell: each round routed the first {span} of the {full} "
                       f"requests (and fewer rounds ran).")
        out.append("")
    out.append("Contenders:")
    out.append("")
    for c in peers.CONTENDERS:
        out.append(f"- `{c}`: {peers.module(c).WHAT}.")
    out.append("")
    return "\n".join(out)


def plot(cells, floor, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [w for w in workloads.WORKLOAD_SIZES if any(k[0] == w for k in cells)]
    ncols = 3
    nrows = (len(names) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False)
    colors = dict(zip(peers.CONTENDERS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, wl_name in zip(axes.flat, names):
        for c in peers.CONTENDERS:
            pts = sorted((n, cells[(wl_name, n, c)][0]) for n in workloads.WORKLOAD_SIZES[wl_name]
                         if (wl_name, n, c) in cells)
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker="o", ms=3, label=c, color=colors[c],
                        lw=2.4 if c == "routecore" else 1.2)
        if floor:
            ax.axhline(floor, ls="--", color="grey", lw=1, label="floor")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(wl_name)
        ax.set_xlabel("N (rules)")
        ax.set_ylabel("ns per decision")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    spare = list(axes.flat)[len(names):]
    if spare:
        spare[0].legend(handles, labels, loc="center", fontsize=11)
    else:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    fig.suptitle("routing: median ns per decision against the number of rules (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a --benchmark-json file of bench/test_bench_peers.py")
    ap.add_argument("--markdown", help="write the table here (default: stdout)")
    ap.add_argument("--plot", help="write the PNG plot here")
    args = ap.parse_args(argv)
    data, cells, floor = load(args.run)
    if not cells:
        ap.error(f"{args.run}: no peer benchmark in this run")
    text = markdown(data, cells, floor)
    if args.markdown:
        Path(args.markdown).write_text(text)
    else:
        print(text)
    if args.plot:
        plot(cells, floor, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
