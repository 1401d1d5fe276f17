"""Route one bench workload in a loop, for profilers (callgrind, perf, py-spy).

    python bench/profile_route.py WORKLOAD N ROUNDS [--pure]

Routes the workload's 256 requests twice to warm up, then ROUNDS times. Instruction counts of
route() alone (deterministic, whatever else the machine does):

    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file=callgrind.out \\
        --toggle-collect='__pyx_pw_9routecore_8_match_c_5Table_*route' \\
        python bench/profile_route.py gateway 10000 4
    callgrind_annotate callgrind.out

Divide the totals by 256 * (ROUNDS + 2) decisions. bench/PROFILE.md has the last figures.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import routecore  # noqa: E402

import workloads  # noqa: E402


def main(argv):
    name, n, rounds = argv[0], int(argv[1]), int(argv[2])
    wl = workloads.WORKLOADS[name](n)
    view = wl.bind(routecore.Router(routecore.load(wl.objects), seed=1, native="--pure" not in argv))
    route = view.route
    requests = wl.requests

    def run(times):
        for _ in range(times):
            for method, target, headers, host in requests:
                route(method, target, headers, host=host)

    run(2)
    run(rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
