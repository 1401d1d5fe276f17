"""No import cycles in routecore/: every import between routecore's own modules (at module level
or inside a function, the extension's included) forms a graph without cycles, and the pure twin
is imported only by the one place that chooses a twin and by diff (which drives it)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "routecore"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph():
    modules = {_module(p): p for p in PKG.rglob("*.py")}
    for stub in PKG.rglob("*.pyi"):  # the extension imports what its stub's source does
        pyx = PKG.parent / "src_c" / stub.relative_to(PKG.parent).with_suffix(".pyx")
        if pyx.exists():
            modules[_module(stub)] = pyx
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        tree = ast.parse(path.read_text()) if path.suffix == ".py" else _pyx_body(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _resolve(node, package)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    deps.add(sub if sub in modules else base)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _pyx_body(path: Path):
    """The module-level Python imports of routecore modules in a .pyx (cimports are C-level)."""
    lines, open_parens = [], 0
    for ln in path.read_text().splitlines():
        if open_parens or (ln.startswith(("from routecore", "import routecore"))
                           and " cimport " not in ln):
            lines.append(ln)
            open_parens += ln.count("(") - ln.count(")")
    return ast.parse("\n".join(lines))


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _cycle(graph):
    state = {}

    def visit(n, stack):
        state[n] = 1
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d, stack + [d])
                if found:
                    return found
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n, [n])
            if found:
                return found
    return None


def test_no_import_cycles_in_routecore():
    graph = _graph()
    assert "routecore._match_py" in graph and "routecore._match_c" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_pure_twin_is_no_shared_library():
    graph = _graph()
    users = {n for n, deps in graph.items() if "routecore._match_py" in deps}
    assert users <= {"routecore._match", "routecore._cli.diff"}, users


def _owned_private_names(tree) -> set:
    """The private names a module defines: functions, classes, assignments (attributes set on any
    object, ``__slots__`` entries and keyword names included)."""
    owned = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            owned.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            owned.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            owned.update(c.value for c in ast.walk(node.value)
                         if isinstance(c, ast.Constant) and isinstance(c.value, str))
        elif isinstance(node, ast.Call):  # object.__setattr__(self, "_x", ...), setattr(o, "_x", ...)
            owned.update(a.value for a in node.args
                         if isinstance(a, ast.Constant) and isinstance(a.value, str)
                         and a.value.startswith("_"))
    return {n for n in owned if n.startswith("_")}


def test_no_module_reads_another_modules_private_names():
    """``module._name`` and ``obj._attr`` only where the module defines ``_name``/``_attr``
    itself; ``from x import _name`` only of modules (routecore's modules are private by name)."""
    modules = {_module(p): p for p in PKG.rglob("*.py")}
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        owned = _owned_private_names(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _resolve(node, package)
                found += [f"{name}: from {base} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")
                          and f"{base}.{a.name}" not in modules and base.startswith("routecore")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and node.attr not in owned \
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], found
