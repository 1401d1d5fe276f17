"""Compile and import bench/floor.pyx (the no-op floors of the routing benchmarks).

``floor()`` returns a ``Floor`` instance; the module is compiled with Cython once into
bench/.build/ (rebuilt when floor.pyx changes) and imported from there.
"""
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "floor.pyx"
BUILD = HERE / ".build"


def _module():
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    name = f"routecore_bench_floor_{digest}"
    BUILD.mkdir(exist_ok=True)
    sos = list(BUILD.glob(f"{name}*.so"))
    if not sos:
        pyx = BUILD / f"{name}.pyx"
        pyx.write_text(SOURCE.read_text())
        subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-q", str(pyx)],
                       cwd=BUILD, check=True, stdout=subprocess.DEVNULL)
        sos = list(BUILD.glob(f"{name}*.so"))
    spec = importlib.util.spec_from_file_location(name, sos[0])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def floor():
    return _module().Floor()
