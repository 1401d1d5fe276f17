"""Instructions per N of ``routecore.load`` under callgrind (N: routes of the gateway workload,
rules of mesh): a figure a busy machine does not disturb (wall-clock and CPU time on a shared
machine vary by half).

    python bench/load_ir.py gateway 2000

Runs this interpreter twice under ``valgrind --tool=callgrind`` (PYTHONHASHSEED=0): once making
the workload and loading 10 routes (imports and first-use work), once doing that and then loading
the N routes; prints the difference divided by N. The loaded Config is kept and the process ends
with ``os._exit``, so freeing it is not counted.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(workload: str, n: int, load: bool) -> None:
    sys.path.insert(0, str(HERE))
    import routecore
    import workloads
    make = workloads.WORKLOADS[workload]
    objects = make(n).objects
    routecore.load(make(10).objects)
    config = routecore.load(objects) if load else None
    sys.stdout.flush()
    os._exit(0 if config is not None or not load else 1)


def instructions(workload: str, n: int, load: bool, script: str = __file__) -> int:
    """Instructions of ``script --child workload n 0|1`` under callgrind (bench/compile_ir.py
    passes its own ``script``)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script,
         "--child", workload, str(n), "1" if load else "0"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"), check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def main(argv) -> None:
    if argv[:1] == ["--child"]:
        child(argv[1], int(argv[2]), argv[3] == "1")
    workload, n = argv[0], int(argv[1])
    total = instructions(workload, n, True) - instructions(workload, n, False)
    print(f"{workload} {n}: load {total:,} Ir, {total // n:,} Ir per N")


if __name__ == "__main__":
    main(sys.argv[1:])
