"""The generic schema language: typed nodes that check raw data, apply defaults and record
problems with their field paths.

Invariants:
- ``walk(value, path, ctx)`` returns the cleaned value (defaults applied, unknown fields left out)
  or ``BAD`` for a value of the wrong shape, and reports every problem to ``ctx`` under the path
  of the field as written (``spec.rules[2].matches[0].path.value``);
- a problem of shape (wrong type, missing required field) is *hard*: ``Ctx.broken`` tells checks
  that the field was given but is unusable, so that they never add a second complaint about it;
- cleaned lists keep each item's index as written (``indexes``);
- an ``Arr`` declared with ``track=NAME`` records, for every problem found in its item ``i``,
  ``where[NAME] = i``: callers learn which item failed as an integer, never from the path text;
- ``RefusingStr`` refuses values (route hostnames that are IP addresses) with its own message;
- an ``Obj`` declared with ``model=`` builds that attrs class from its cleaned data (``build``):
  each field names the attribute it fills (``Field(attr=, to=)``), so one declaration gives the
  validation, the defaults and the model; a field declared ``inline`` is an object whose own
  fields (and derivations) fill the enclosing model (``metadata`` and ``spec`` of a top-level
  object fill the object's model); ``build`` only ever sees data that passed ``walk``;
- nothing here knows a Kubernetes kind: kinds.py declares those.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs


_COMPILED: Dict[str, Any] = {}


def _compiled(pattern: str):
    rx = _COMPILED.get(pattern)
    if rx is None:
        rx = _COMPILED[pattern] = re.compile(pattern)
    return rx


def fullmatch(pattern: str, value: str) -> bool:
    return _compiled(pattern).fullmatch(value) is not None

# --- the schema language -----------------------------------------------------------------------

MISSING = object()
BAD = object()  # a value of the wrong type: left out of the cleaned data


class Ctx:
    """Issues of one object: (path, message, hard, where). Hard issues mean the data has the wrong shape."""

    def __init__(self) -> None:
        # (path, message, hard, where): ``where`` names the tracked list items the issue is in
        self.issues: List[Tuple[str, str, bool, Dict[str, int]]] = []
        self.hard_paths: List[str] = []
        self.where: Dict[str, int] = {}  # the tracked list items being walked now (see Arr)

    def add(self, path: str, message: str, hard: bool = False, where: Optional[Dict[str, int]] = None) -> None:
        """Record an issue; ``where`` defaults to the tracked items being walked."""
        self.issues.append((path, message, hard, dict(self.where) if where is None else where))
        if hard:
            self.hard_paths.append(path)

    def broken(self, *paths: str) -> bool:
        """Whether a value at (or under) one of ``paths`` was given with the wrong shape.

        Checks use it to tell "absent" from "given but unusable", so that they never add a
        second, misleading complaint about a field already reported.
        """
        return any(under(h, p) for h in self.hard_paths for p in paths)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def under(issue_path: str, prefix: str) -> bool:
    if not prefix:
        return True
    return issue_path == prefix or issue_path.startswith(prefix + ".") or issue_path.startswith(prefix + "[")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return "timestamp"
    return type(value).__name__


def expected(kind: str, value: Any) -> str:
    return f"Expected `{kind}`, got `{type_name(value)}`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shown(value: str) -> str:
    """``value`` for a message: controls and other unprintable characters escaped, so one issue
    stays one line (a config cannot inject lines into ``routecore check`` output or a log)."""
    return value if value.isprintable() else value.encode("unicode_escape").decode("ascii")


class Str:
    def __init__(self, *, pattern=None, why=None, min_len=0, max_len=None, enum=None):
        self.pattern, self.why, self.min_len, self.max_len, self.enum = pattern, why, min_len, max_len, enum
        # the compiled pattern's fullmatch, looked up once (same program as fullmatch's cache)
        self.matcher = None if pattern is None else _compiled(pattern).fullmatch

    def walk(self, value, path, ctx):
        if not isinstance(value, str):
            ctx.add(path, expected("str", value), hard=True)
            return BAD
        if self.enum is not None:
            if value not in self.enum:
                allowed = ", ".join(f"`{e}`" for e in self.enum)
                ctx.add(path, f"Expected one of {allowed}, got `{_shown(value)}`")
            return value
        n = len(value)
        if n < self.min_len:
            ctx.add(path, "must not be empty" if self.min_len == 1 else f"must be at least {self.min_len} characters")
            return value
        if self.max_len is not None and n > self.max_len:
            ctx.add(path, f"must be at most {self.max_len} characters, got {n}")
            return value
        if self.matcher is not None and self.matcher(value) is None:
            why = f" ({self.why})" if self.why else ""
            ctx.add(path, f"`{_shown(value)}` is not valid{why}")
        return value


class RefusingStr(Str):
    """A Str that refuses the values ``refuse(value)`` is true of, with its own ``reason``, before
    the pattern is checked (a value the pattern would also reject gets that one message only)."""

    def __init__(self, refuse: Callable[[str], bool], reason: str, **kw):
        super().__init__(**kw)
        self.refuse, self.reason = refuse, reason

    def walk(self, value, path, ctx):
        if isinstance(value, str) and self.refuse(value):
            ctx.add(path, f"`{_shown(value)}` {self.reason}")
            return value
        return super().walk(value, path, ctx)


class Int:
    def __init__(self, *, min=None, max=None):
        self.min, self.max = min, max

    def walk(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.add(path, expected("int", value), hard=True)
            return BAD
        if self.min is not None and value < self.min:
            ctx.add(path, f"Expected `int` >= {self.min}, got {value}")
        elif self.max is not None and value > self.max:
            ctx.add(path, f"Expected `int` <= {self.max}, got {value}")
        return value


class Bool:
    def walk(self, value, path, ctx):
        if not isinstance(value, bool):
            ctx.add(path, expected("bool", value), hard=True)
            return BAD
        return value


class AnyValue:
    """Accepted as is (fields routecore does not interpret)."""

    def walk(self, value, path, ctx):
        return value


class StrMap:
    """A map of strings to strings (labels, annotations, options)."""

    def __init__(self, key=None, value=None):
        self.key, self.value = key, value

    def walk(self, value, path, ctx):
        if not isinstance(value, dict):
            ctx.add(path, expected("object", value), hard=True)
            return BAD
        out = {}
        for k, v in value.items():
            sub = join(path, str(k))
            if not isinstance(k, str):
                ctx.add(sub, f"key: {expected('str', k)}", hard=True)
                continue
            if v is None:
                v = ""
            if not isinstance(v, str):
                ctx.add(sub, expected("str", v), hard=True)
                continue
            if self.key is not None:
                self.key.walk(k, sub, ctx)
            if self.value is not None:
                self.value.walk(v, sub, ctx)
            out[k] = v
        return out


class CleanList(list):
    """A cleaned list; ``indexes`` holds each item's index in the list as written."""

    __slots__ = ("indexes", "total")

    def __init__(self, *args, total=None):
        super().__init__(*args)
        self.indexes: List[int] = list(range(len(self)))
        self.total = len(self) if total is None else total  # items as written, valid or not

    @classmethod
    def empty(cls, total: int) -> "CleanList":
        """``CleanList(total=total)``, without the generic constructor's work (walk makes many)."""
        out = list.__new__(cls)
        out.indexes = []
        out.total = total
        return out


class Arr:
    def __init__(self, item, *, min_items=0, max_items=None, key=None, empty_default=False, unique=False,
                 track=None):
        self.item, self.min_items, self.max_items = item, min_items, max_items
        self.track = track  # a name: issues found in item i are recorded with where[track] = i
        self.key = key  # list-map key: entries must have distinct values of this field
        self.empty_default = empty_default  # an explicit [] takes the field's default
        self.unique = unique  # list-set: items must be distinct

    def walk(self, value, path, ctx):
        if not isinstance(value, (list, tuple)):
            ctx.add(path, expected("array", value), hard=True)
            return BAD
        n = len(value)
        if n < self.min_items:
            ctx.add(path, f"must have at least {_plural(self.min_items, 'item')}, got {n}")
        if self.max_items is not None and n > self.max_items:
            ctx.add(path, f"must have at most {_plural(self.max_items, 'item')}, got {n}")
        out = CleanList.empty(n)
        indexes = out.indexes
        seen: Dict[Any, int] = {}
        item_walk, key, unique, track = self.item.walk, self.key, self.unique, self.track
        for i, item in enumerate(value):
            if track is not None:
                ctx.where[track] = i
            sub = f"{path}[{i}]"
            if item is None:
                ctx.add(sub, expected(_schema_type(self.item), item), hard=True)
                continue
            cleaned = item_walk(item, sub, ctx)
            if cleaned is BAD:
                continue
            out.append(cleaned)
            indexes.append(i)
            if key is not None and isinstance(cleaned, dict) and isinstance(cleaned.get(key), str):
                k = cleaned[key]
                if k in seen:
                    ctx.add(
                        join(sub, key),
                        f"duplicate entry with {key} `{k}` (also at [{seen[k]}]); {key}s must be unique",
                    )
                else:
                    seen[k] = i
            elif unique and isinstance(cleaned, (str, int)):
                if cleaned in seen:
                    ctx.add(sub, f"duplicate value `{cleaned}` (also at [{seen[cleaned]}])")
                else:
                    seen[cleaned] = i
        if track is not None:
            ctx.where.pop(track, None)
        return out

    def locate(self, segments: tuple) -> Dict[str, int]:
        """The tracked items (see ``track``) at a field given as keys and indexes."""
        if not segments or not isinstance(segments[0], int):
            return {}
        found = {} if self.track is None else {self.track: segments[0]}
        found.update(locate(self.item, segments[1:]))
        return found


class Field:
    """One field of an object: its schema, whether it is required, its CRD default and, when the
    object builds a model, the model attribute it fills (``attr``) and how (``to(value, env)``;
    by default the model its schema builds, a tuple of its items' or the value itself), or
    ``inline``: the field is an Obj whose mapped fields and derivations fill the enclosing model
    (read from the field's data; an absent field reads as empty)."""

    def __init__(self, schema, *, required=False, default=MISSING, attr=None, to=None, inline=False):
        self.schema, self.required, self.default = schema, required, default
        self.attr, self.to, self.inline = attr, to, inline
        self._clean_default = MISSING  # see clean_default()
        self.as_is = type(schema) is AnyValue  # walk() returns the value unchanged, with no issue

    def constant_default(self):
        """The cleaned default when it is the same value for every object (see clean_default),
        else MISSING."""
        self.clean_default("", Ctx())
        return self._clean_default

    def clean_default(self, path, ctx):
        """The default as the schema cleans it (walked under ``path``, issues to ``ctx``).

        A scalar default that the schema takes as is, without an issue (the usual case: CRD
        defaults are valid), is remembered and returned directly from then on; walking it again
        would give the same value and no issue. Other defaults are copied and walked each time.
        """
        cached = self._clean_default
        if cached is not MISSING:
            return cached
        default = self.default
        if isinstance(default, (str, int, float)) and isinstance(self.schema, (Str, Int, Bool, AnyValue)):
            probe = Ctx()
            if self.schema.walk(default, path, probe) is default and not probe.issues:
                self._clean_default = default
                return default
        return self.schema.walk(copied(default), path, ctx)


class Obj:
    """An object: its fields, its checks and, optionally, the model it builds.

    ``checks``: functions ``check(data, path, ctx)`` run on the cleaned data; one may carry a
    *sure pass*, ``check.passes(data)``: a cheaper test, true only where the check would report
    nothing (False says nothing): the fast path (fast.py) asks it first.
    ``model``: the class that ``build`` makes from cleaned data, with the ``attr`` of each field
    that is present and ``derived`` attributes (``{attr: fn(data, env)}``); ``share(data, env)``
    gives a key under which equal models are shared within one load (None: not shared).
    ``build`` (a function of data and env) replaces all of that where the model is not a
    field-by-field copy (a union such as a filter)."""

    def __init__(self, fields: Dict[str, Field], *, checks: Tuple[Callable, ...] = (), open=False,
                 model=None, derived: Optional[Dict[str, Callable]] = None, share=None, build=None):
        self.fields, self.checks, self.open = fields, checks, open
        self.model, self.derived, self.share = model, tuple((derived or {}).items()), share
        # (key, attr, to, schema, always): ``always``, the field is in every cleaned object that
        # reaches build (required, or defaulted by walk)
        self._mapped = tuple((key, f.attr, f.to, f.schema, f.required or f.default is not MISSING)
                             for key, f in fields.items() if f.attr)
        self._inline = tuple((key, f.schema) for key, f in fields.items() if f.inline)
        self._made: Optional[Callable] = None  # see maker()
        if build is not None:
            self.build = build
        # the fields the second pass of walk() can act on when they are absent: required or
        # defaulted ones (for any other field, an absent key leads to nothing), in field order
        self.needed = tuple((key, f, getattr(f.schema, "empty_default", False))
                             for key, f in fields.items()
                             if f.required or f.default is not MISSING)

    def walk(self, value, path, ctx):
        if not isinstance(value, dict):
            ctx.add(path, expected("object", value), hard=True)
            return BAD
        out: Dict[str, Any] = {}
        fields = self.fields
        for key, raw in value.items():
            f = fields.get(key) if isinstance(key, str) else None
            if f is None:
                if not self.open:
                    ctx.add(join(path, str(key)), self._unknown(str(key), value))
                continue
            if raw is None:
                continue  # null means "not set", as Kubernetes prunes nulls before defaulting
            if f.as_is:
                out[key] = raw
                continue
            cleaned = f.schema.walk(raw, f"{path}.{key}" if path else key, ctx)
            if cleaned is not BAD:
                out[key] = cleaned
        for key, f, empty_default in self.needed:
            if key in out:
                # an explicit [] takes the field's default
                if not (empty_default and f.default is not MISSING and out[key] == []):
                    continue
            if key in value and value[key] is not None and not (empty_default and value[key] == []):
                continue  # given, but with the wrong type: already reported
            if f.required:
                sub = join(path, key)
                if key in value:
                    ctx.add(sub, expected(_schema_type(f.schema), None), hard=True)
                else:
                    ctx.add(sub, f"missing required field `{key}`", hard=True)
            elif f.default is not MISSING:
                out[key] = f.clean_default(join(path, key), ctx)
        # CEL-like checks run on partly invalid data too (all problems are reported at once); they
        # are written to read only values that passed, and to consult ctx.broken() before they
        # complain that something is missing.
        for check in self.checks:
            check(out, path, ctx)
        return out

    def build(self, data: dict, env: "BuildEnv"):
        """The model of cleaned ``data`` (see the class docstring)."""
        key = self.share(data, env) if self.share is not None else None
        if key is None:
            return self.maker()(data, env)
        memo = env.memo
        built = memo.get(key)
        if built is None:
            built = memo[key] = self.maker()(data, env)
        return built

    def maker(self) -> Callable:
        """The function making the model from cleaned data, written out once (as attrs writes
        __init__): one call of the model, each attribute read from its field or left at the
        model's default."""
        make = self._made
        if make is None:
            make = self._made = _maker(self)
        return make

    def builder(self) -> Optional[Callable]:
        """The fastest function building this object's model (None: it builds none)."""
        if "build" in self.__dict__:
            return self.__dict__["build"]
        if self.model is None:
            return None
        return self.build if self.share is not None else self.maker()

    def locate(self, segments: tuple) -> Dict[str, int]:
        """The tracked items (see Arr) at a field given as keys and indexes."""
        f = self.fields.get(segments[0]) if segments and isinstance(segments[0], str) else None
        return {} if f is None else locate(f.schema, segments[1:])

    def _unknown(self, key: str, value: dict) -> str:
        msg = f"unknown field `{key}`"
        owners = []
        for name, f in self.fields.items():
            inner = f.schema.item if isinstance(f.schema, Arr) else f.schema
            if isinstance(inner, Obj) and key in inner.fields:
                owners.append(name)
        if owners:
            owners.sort(key=lambda n: n not in value)  # prefer a sibling the user wrote (maybe empty)
            return f"{msg}; did you mean to indent it under `{owners[0]}`?"
        close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.75)
        if close:
            return f"{msg}; did you mean `{close[0]}`?"
        return msg


_NO_SKIP: Dict[str, set] = {}  # (never written: BuildEnv only reads skip)


class BuildEnv:
    """What building the models of one object needs besides its data: the object's namespace
    (the default of references), the memo of one load (equal immutable parts shared) and the
    items load leaves out (``skip``: {track name of an Arr: indexes as written}, see Arr)."""

    __slots__ = ("ns", "memo", "skip")

    def __init__(self, ns: str, memo: Optional[dict] = None, skip: Optional[Dict[str, set]] = None) -> None:
        self.ns, self.memo = ns, ({} if memo is None else memo)
        self.skip = _NO_SKIP if skip is None else skip

    def shared(self, tag: str, items: tuple) -> tuple:
        """``items``, or an equal tuple of the same objects built earlier in this load.

        Keyed by the identity of the items: the memo holds the tuple, which keeps its items alive,
        so an id cannot be reused while the entry exists."""
        if not items:
            return items
        return self.memo.setdefault((tag,) + tuple(map(id, items)), items)


def _maker(obj: "Obj") -> Callable:
    """The function that makes ``obj.model`` from cleaned data: for each mapped field,
    ``to(value, env)``, a built object, a tuple of built items or the value itself; an absent
    field gives the model's default (absent and required fields cannot reach it). The mapped
    fields and derivations of inline fields are read from their data (``s0``, ``s1``...)."""
    defaults = {a.name: a.default for a in attrs.fields(obj.model)}
    names: Dict[str, Any] = {"model": obj.model, "MISSING": MISSING, "EMPTY": {}}
    lines: List[str] = []
    args: List[str] = []
    counter = [0]

    def emit(node: "Obj", data: str) -> None:
        for key, schema in node._inline:
            var = f"s{len(lines)}"
            lines.append(f"    {var} = {data}.get({key!r}) or EMPTY\n")
            emit(schema, var)
        for key, attr, to, schema, always in node._mapped:
            n = counter[0] = counter[0] + 1
            item = schema.item if type(schema) is Arr else None
            build = schema.builder() if type(schema) is Obj else None
            item_build = item.builder() if type(item) is Obj else None
            # the field's value: read directly where it is always there (a missing key would be a
            # validation gap: a KeyError, which load reports), else via the model's default
            v = f"{data}[{key!r}]" if always else "v"
            if to is not None:
                names[f"to{n}"] = to
                value = f"to{n}({v}, env)"
            elif build is not None:
                names[f"b{n}"] = build
                value = f"b{n}({v}, env)"
            elif item_build is not None:
                names[f"b{n}"] = item_build
                value = f"tuple([b{n}(x, env) for x in {v}])"
            elif item is not None:
                value = f"tuple({v})"
            else:
                value = v
            if always:
                args.append(f"{attr}={value}")
                continue
            default = defaults[attr]
            if isinstance(default, attrs.Factory):  # pragma: no cover - the models use plain defaults
                raise TypeError(f"{obj.model.__name__}.{attr}: a factory default cannot be written out")
            names[f"d{n}"] = default
            args.append(f"{attr}=(d{n} if (v := {data}.get({key!r}, MISSING)) is MISSING else {value})")
        for attr, fn in node.derived:
            n = counter[0] = counter[0] + 1
            names[f"f{n}"] = fn
            args.append(f"{attr}=f{n}({data}, env)")

    emit(obj, "data")
    given = dict(arg.split("=", 1) for arg in args)
    fill = filler(obj.model)
    if fill is None or any(a.name not in given and a.default is attrs.NOTHING for a in attrs.fields(obj.model)):
        # pragma: no cover - the models are plain, and every attribute without a default is mapped
        body = f"    return model({', '.join(_positional(obj.model, args, names))})\n"
    else:  # stores into an instance of the filler, which then becomes a model (see _filler)
        names.update(fill=fill)
        stores = []
        for a in attrs.fields(obj.model):
            if a.name not in given:
                names[f"a_{a.name}"] = a.default
            stores.append(f"    o.{a.name} = {given.get(a.name, f'a_{a.name}')}\n")
        body = f"    o = fill()\n{''.join(stores)}    o.__class__ = model\n    return o\n"
    source = f"def make(data, env):\n{''.join(lines)}{body}"
    exec(compile(source, f"<build {obj.model.__name__}>", "exec"), names)
    return names["make"]


_FILLERS: Dict[type, Optional[type]] = {}


def filler(model) -> Optional[type]:
    """A subclass of the frozen, slotted attrs class ``model`` that adds nothing but the plain
    attribute stores and ``__init__`` of ``object`` (no slot, no other method, no ``__dict__``): an
    instance of it made by calling it with no argument (``object``'s ``__new__`` and ``__init__``:
    half the instructions of ``object.__new__(filler)``, which builds an argument tuple), given
    every attribute and then the class ``model``
    (``__class__`` assignment: the same layout) is what ``model(...)`` makes, for about a quarter
    of the instructions (attrs' frozen ``__init__`` calls ``object.__setattr__`` per attribute;
    here each store is one specialised bytecode). Only an instance that got every attribute is
    ever given the model's class: one whose making fails is dropped half-filled, as a filler.
    None (call the model) where ``__init__`` does more than store its arguments: a validator, a
    converter, a factory, a post-init hook, a field left out of ``__init__``."""
    if model in _FILLERS:
        return _FILLERS[model]
    plain = ("__slots__" in model.__dict__ and "__dict__" not in model.__slots__
             and not hasattr(model, "__attrs_post_init__") and not hasattr(model, "__attrs_pre_init__")
             and all(a.init and a.validator is None and a.converter is None and a.alias == a.name
                     and not isinstance(a.default, attrs.Factory) for a in attrs.fields(model)))
    fill = None
    if plain:
        fill = type(f"_Filled{model.__name__}", (model,),
                    {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__,
                     "__init__": object.__init__, "__module__": __name__})
    _FILLERS[model] = fill
    return fill


def _positional(model, args: List[str], names: Dict[str, Any]) -> List[str]:
    """The arguments ``attr=expr`` of a call of ``model`` as positional ones, in its attributes'
    order (an attribute not given: its default, a constant): a call with keywords costs attrs'
    ``__init__`` about half as much again. As given where an attribute is not a plain ``__init__``
    parameter."""
    given = dict(arg.split("=", 1) for arg in args)
    fields = attrs.fields(model)
    if any(not a.init or a.kw_only or isinstance(a.default, attrs.Factory) for a in fields):
        return args  # pragma: no cover - the models are plain
    out = []
    for a in fields:
        if a.name in given:
            out.append(given.pop(a.name))
        else:
            if a.default is attrs.NOTHING:  # pragma: no cover - a mapped or derived attribute
                return args
            names[f"a_{a.name}"] = a.default
            out.append(f"a_{a.name}")
    return args if given else out


def locate(schema, segments: tuple) -> Dict[str, int]:
    """``where`` of an issue found outside a walk (e.g. while reading the source) at the field
    ``segments`` (keys and indexes): the tracked list items (see Arr) it lies in."""
    method = getattr(schema, "locate", None)
    return {} if method is None else method(segments)


def _schema_type(schema) -> str:
    return {Str: "str", RefusingStr: "str", Int: "int", Bool: "bool", Arr: "array", Obj: "object",
            StrMap: "object"}.get(
        type(schema), "value"
    )


def copied(value):
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copied(v) for v in value]
    return value
