"""Instructions per N of one compile (``Router`` + the workload's view, native table included)
under callgrind: the compile half of issue 15 item 5 as a figure a busy machine does not
disturb (bench/load_ir.py is the load half, same method).

    python bench/compile_ir.py gateway 2000

Runs this interpreter twice under ``valgrind --tool=callgrind`` (PYTHONHASHSEED=0): both make
the workload and load it (and compile 10 routes first: imports and first-use work), one then
compiles the N routes' view; prints the difference divided by N. The view is kept and the
process ends with ``os._exit``, so freeing it is not counted; the cycle collector's settling at
the end of the build is (it is part of every compile).
"""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load_ir import instructions  # noqa: E402


def child(workload: str, n: int, compile_: bool) -> None:
    import routecore
    import workloads
    make = workloads.WORKLOADS[workload]
    small = make(10)
    small.bind(routecore.Router(routecore.load(small.objects)))
    wl = make(n)
    config = routecore.load(wl.objects)
    view = wl.bind(routecore.Router(config, seed=1)) if compile_ else None
    sys.stdout.flush()
    os._exit(0 if view is not None or not compile_ else 1)


def main(argv) -> None:
    if argv[:1] == ["--child"]:
        child(argv[1], int(argv[2]), argv[3] == "1")
    workload, n = argv[0], int(argv[1])
    total = instructions(workload, n, True, __file__) - instructions(workload, n, False, __file__)
    print(f"{workload} {n}: compile {total:,} Ir, {total // n:,} Ir per N")


if __name__ == "__main__":
    main(sys.argv[1:])
