"""The schema's fast path: each declaration (schema.Obj, Arr, StrMap, Str...) compiled once into a
specialised Python function that cleans *valid* data, and hands over to the generic walker at the
first sign of a problem.

Invariants:
- ``walk(schema, value, ctx)`` returns what ``schema.walk(value, "", ctx)`` returns and leaves
  ``ctx`` as that call leaves it (the same issues, in the same order, with the same paths), for
  every value: the compiled function either cleans the value without finding any problem, or
  raises ``Bail`` as soon as anything is off (wrong type, limit, pattern, unknown or missing field,
  duplicate key, a value it does not handle, any issue a check reports), and then the generic
  walker runs from the start on the caller's ``ctx``, so every error text, field path and the
  all-problems-at-once behaviour come from one place (schema.py);
- the compiled code is stricter than the walker, never looser: it accepts exactly ``str``,
  ``int``, ``bool``, ``dict``, ``list``/``tuple`` (subclasses bail) and bails on whatever it is
  unsure of; a node type it does not know (a subclass declared elsewhere) runs its own ``walk``
  and bails if that reports anything;
- a cleaned value is built the way the walker builds it: the input's key order, then the
  defaults in declaration order (the same copies walked the same way), lists as ``CleanList`` with
  every index (a valid list's ``indexes`` shared per length, see _INDEXES); the checks run on it
  (on the caller's Ctx: anything they report means "bail", and ``walk`` takes it back) exactly as
  the walker runs them, but for a check that declares a sure pass (``check.passes(data)``, true
  only where the check reports nothing, see schema.Obj), which is asked first.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

from . import schema as s


class Bail(Exception):
    """The fast path met something it does not accept: the generic walker decides.

    Raised as the class, a new instance per bail: one shared instance would carry every bail's
    traceback on one chain (raising an instance adds to its ``__traceback__``), keeping the
    frames and the objects they were checking alive for the life of the process."""


# Strings a Str node accepted during the current load (each node's own dict, value -> the first
# such string): the next equal value skips the checks and shares that string (model memory). Small
# and bounded; ``forget()`` empties them when a load ends, so no configuration outlives its load.
_SEEN: List[Dict[str, str]] = []
_SEEN_MAX = 4096  # strings kept per node
_SEEN_LEN = 256  # longest string kept


# ``indexes`` of a valid cleaned list of n items is [0, ..., n-1]: one shared list per n (no list
# made per cleaned list). Nothing writes to a cleaned list's ``indexes`` once it is made (the
# walker appends only to the fresh list of its own CleanList.empty).
_INDEXES = tuple(list(range(n)) for n in range(64))


def _seen(node) -> Dict[str, str]:
    seen = node.__dict__.get("_seen")
    if seen is None:
        seen = node._seen = {}
        _SEEN.append(seen)
    return seen


def forget() -> None:
    """Empty the strings remembered during a load (see _SEEN)."""
    for seen in _SEEN:
        seen.clear()


def walk(schema, value, ctx: s.Ctx):
    """``schema.walk(value, "", ctx)``, the fast way when ``value`` is valid (see the module).

    The compiled code reports to ``ctx`` itself (no scratch Ctx per object): whatever it added is
    taken back before the walker runs, so ``ctx`` ends as the walker leaves it."""
    issues, hard = ctx.issues, ctx.hard_paths
    n, h = len(issues), len(hard)
    try:
        cleaned = compiled(schema)(value, ctx)
        if len(issues) == n:
            return cleaned
    except Bail:
        pass
    del issues[n:], hard[h:]
    return schema.walk(value, "", ctx)


def compiled(schema) -> Callable[[Any, s.Ctx], Any]:
    """The fast function of ``schema`` (written out on first use, then kept on the node)."""
    fn = schema.__dict__.get("_fast")
    if fn is None:
        fn = _Writer().function(schema)
    return fn


class _Writer:
    """Writes the functions of one schema tree (and of the nodes under it not yet compiled)."""

    def __init__(self) -> None:
        self.names: Dict[str, Any] = {"BAIL": Bail, "List": s.CleanList, "new": list.__new__, "copy": s.copied,
                                      "INDEXES": _INDEXES}
        self.sources: List[str] = []
        self.pending: List[Any] = []  # nodes whose function is named but not yet stored on them

    def function(self, node):
        name = self.name_of(node)
        exec(compile("\n".join(self.sources), f"<fast {type(node).__name__}>", "exec"), self.names)
        for n in self.pending:
            n._fast = self.names[self.name_of(n)]
        return self.names[name]

    def const(self, value) -> str:
        name = f"k{len(self.names)}"
        self.names[name] = value
        return name

    def name_of(self, node) -> str:
        """The function of ``node`` (written now unless already written in this batch)."""
        key = f"n{id(node)}"
        if key in self.names:
            return key
        done = node.__dict__.get("_fast")
        if done is not None:
            self.names[key] = done
            return key
        self.names[key] = None  # (recursion guard while writing)
        self.pending.append(node)
        kind = type(node)
        if kind is s.Obj:
            self.sources.append(self._obj(node, key))
        elif kind is s.Arr:
            self.sources.append(self._arr(node, key))
        elif kind is s.StrMap:
            self.sources.append(self._strmap(node, key))
        else:  # a scalar on its own, or a node type written elsewhere
            body = self._scalar(node, "v", "    ")
            if body is None:
                self.names[f"g{key}"] = node.walk
                body = ["    n = len(ctx.issues)", f"    v = g{key}(v, '', ctx)",
                        "    if len(ctx.issues) != n or v is BAD: raise BAIL"]
                self.names["BAD"] = s.BAD
            self.sources.append("\n".join([f"def {key}(v, ctx):"] + body + ["    return v\n"]))
        return key

    # --- code for one value ``var`` (lines at ``ind``): scalars inline, others by a call ---

    def _scalar(self, node, var: str, ind: str):
        kind = type(node)
        if kind is s.Str or kind is s.RefusingStr:
            out = [f"{ind}if type({var}) is not str: raise BAIL"]
            if node.enum is not None and kind is s.Str:  # the enum's own string, shared
                enum = self.const({e: e for e in node.enum})
                return out + [f"{ind}w = {enum}.get({var})", f"{ind}if w is None: raise BAIL", f"{ind}{var} = w"]
            seen = self.const(_seen(node))
            out += [f"{ind}w = {seen}.get({var})",
                    f"{ind}if w is not None: {var} = w",  # passed before: the same string, shared
                    f"{ind}else:"]
            ind2 = ind + "    "
            if kind is s.RefusingStr:
                out.append(f"{ind2}if {self.const(node.refuse)}({var}): raise BAIL")
            if node.enum is not None:
                out.append(f"{ind2}if {var} not in {self.const(frozenset(node.enum))}: raise BAIL")
            if node.min_len:
                out.append(f"{ind2}if len({var}) < {node.min_len}: raise BAIL")
            if node.max_len is not None:
                out.append(f"{ind2}if len({var}) > {node.max_len}: raise BAIL")
            if node.matcher is not None:
                out.append(f"{ind2}if {self.const(node.matcher)}({var}) is None: raise BAIL")
            out.append(f"{ind2}if len({seen}) < {_SEEN_MAX} and len({var}) <= {_SEEN_LEN}: {seen}[{var}] = {var}")
            return out
        if kind is s.Int:
            out = [f"{ind}if type({var}) is not int: raise BAIL"]
            if node.min is not None:
                out.append(f"{ind}if {var} < {node.min!r}: raise BAIL")
            if node.max is not None:
                out.append(f"{ind}if {var} > {node.max!r}: raise BAIL")
            return out
        if kind is s.Bool:
            return [f"{ind}if type({var}) is not bool: raise BAIL"]
        if kind is s.AnyValue:
            return []
        return None

    def _value(self, node, var: str, ind: str) -> List[str]:
        lines = self._scalar(node, var, ind)
        if lines is None:
            lines = [f"{ind}{var} = {self.name_of(node)}({var}, ctx)"]
        return lines

    # --- node functions ---

    def _obj(self, node: s.Obj, name: str) -> str:
        out = [f"def {name}(value, ctx):",
               "    if type(value) is not dict: raise BAIL",
               "    out = {}",
               "    for key, v in value.items():"]
        first = True
        for key, f in node.fields.items():
            out.append(f"        {'if' if first else 'elif'} key == {key!r}:")
            first = False
            out.append("            if v is not None:")
            if not f.as_is:
                out += self._value(f.schema, "v", "                ")
            out.append(f"                out[{key!r}] = v")
        if not node.open:
            out.append("        else: raise BAIL" if node.fields else "        raise BAIL")
        elif not node.fields:
            out.append("        pass")
        for key, f, empty_default in node.needed:
            if f.required:
                out.append(f"    if {key!r} not in out: raise BAIL")
                if empty_default and f.default is not s.MISSING:
                    out.append(f"    if out[{key!r}] == []: raise BAIL")
                continue
            default = self._default(f)
            out.append(f"    if {key!r} not in out: out[{key!r}] = {default}")
            if empty_default:
                out.append(f"    elif out[{key!r}] == []: out[{key!r}] = {default}")
        for check in node.checks:
            call = f"{self.const(check)}(out, '', ctx)"
            passes = getattr(check, "passes", None)  # (see schema.Obj: a sure pass skips the check)
            out.append(f"    if not {self.const(passes)}(out): {call}" if passes is not None else f"    {call}")
        out.append("    return out\n")
        return "\n".join(out)

    def _default(self, f: s.Field) -> str:
        """The expression of a field's cleaned default (see Field.clean_default)."""
        value = f.constant_default()
        if value is not s.MISSING:  # a scalar taken as is: the very same value
            return self.const(value)
        return f"{self.name_of(f.schema)}(copy({self.const(f.default)}), ctx)"

    def _arr(self, node: s.Arr, name: str) -> str:
        out = [f"def {name}(value, ctx):",
               "    if type(value) is not list and type(value) is not tuple: raise BAIL",
               "    n = len(value)"]
        if node.min_items:
            out.append(f"    if n < {node.min_items}: raise BAIL")
        if node.max_items is not None:
            out.append(f"    if n > {node.max_items}: raise BAIL")
        out += ["    items = new(List)",
                "    for v in value:",
                "        if v is None: raise BAIL"]
        out += self._value(node.item, "v", "        ")
        out.append("        items.append(v)")
        if node.key is not None:
            out += ["    if n > 1:",
                    f"        keys = [k for x in items if type(x) is dict and type(k := x.get({node.key!r})) is str]",
                    "        if len(set(keys)) != len(keys): raise BAIL"]
        elif node.unique:
            out += ["    if n > 1:",
                    "        keys = [x for x in items if isinstance(x, (str, int))]",
                    "        if len(set(keys)) != len(keys): raise BAIL"]
        out += ["    items.indexes = INDEXES[n] if n < 64 else list(range(n))",  # (see _INDEXES)
                "    items.total = n",
                "    return items\n"]
        return "\n".join(out)

    def _strmap(self, node: s.StrMap, name: str) -> str:
        out = [f"def {name}(value, ctx):",
               "    if type(value) is not dict: raise BAIL",
               "    for k, v in value.items():",
               "        if type(k) is not str or type(v) is not str: raise BAIL"]
        for var, sub in (("k", node.key), ("v", node.value)):
            if sub is not None:
                out += self._value(sub, var, "        ")
        out.append("    return dict(value)\n")
        return "\n".join(out)
