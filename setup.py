"""Builds the native core (src_c/routecore/_match_c.pyx and the .pxi it includes), the compiled
HTTPRoute loader (routecore/_config/quick.py) and the load's compiled driver
(routecore/_config/parse.py) unless ROUTECORE_NO_EXTENSIONS is set."""
import os

from setuptools import Extension, setup

NO_EXTENSIONS = os.environ.get("ROUTECORE_NO_EXTENSIONS", "") not in ("", "0")

ext_modules = []
if not NO_EXTENSIONS:
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("routecore._match_c", ["src_c/routecore/_match_c.pyx"], extra_compile_args=["-O3"]),
         # the one-pass HTTPRoute loader, its Python source compiled as it is (it runs as plain
         # Python wherever the extension is not built: the .py stays the one source)
         Extension("routecore._config.quick", ["routecore/_config/quick.py"], extra_compile_args=["-O3"]),
         # the compile's precedence and Builder (entries, choices, outcomes), likewise as it is
         Extension("routecore._compile.table", ["routecore/_compile/table.py"], extra_compile_args=["-O3"]),
         # the load's per-object driver, compiled as it is too (its annotations are not C types)
         Extension("routecore._config.parse", ["routecore/_config/parse.py"], extra_compile_args=["-O3"])],
        compiler_directives={"language_level": "3"},
        include_path=["src_c"],
    )

setup(ext_modules=ext_modules)
