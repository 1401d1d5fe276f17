"""Reads configuration sources (paths, YAML/JSON text, dicts, iterables) into raw Kubernetes objects.

Invariants:
- ``read_source`` returns RawObjects in a deterministic order (files sorted, documents in order);
- every ``kind: ...List`` with ``items`` is flattened (recursively); empty YAML documents are dropped;
- a RawObject's ``obj`` is whatever the document held (parse reports non-mappings); mappings are
  plain dicts/lists/scalars as YAML or JSON built them;
- source-level problems (missing path, unreadable file, YAML syntax, excessive aliasing) raise
  ConfigError at once; duplicate mapping keys (which YAML silently resolves) are carried as
  RawObject.problems;
- loading is linear in the size of the document with its aliases expanded, and that expansion is
  capped (``alias_limit``), as Kubernetes' YAML decoder caps it: a few hundred bytes of nested
  aliases cannot make a document of billions of nodes;
- a RawObject read from text or a file has an ``Origin`` (a str: the file and document number, as
  before) that can turn a field path of the object into the file, line and column of the deepest
  node on that path (``Origin.locate``). Positions are worked out only when asked for: the text is
  kept, and composed again into YAML nodes the first time a problem needs a position.

Text or path: a str source that is one line naming an existing path, or ending in .yaml/.yml/.json,
is read as a path, any other str as YAML/JSON text (the library's convenience). Callers that know
which they have (the command line) say so: ``read_path`` and ``read_text``.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, List, Optional, Tuple

import yaml
from attrs import frozen

from .._errors import ConfigError, ConfigIssue
from .schema import filler

_EXTENSIONS = (".yaml", ".yml", ".json")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@frozen
class RawObject:
    """One Kubernetes object as written, plus where it came from."""

    obj: Any
    origin: Optional[str] = None
    # (path, message, segments) problems found while reading, e.g. duplicate mapping keys;
    # segments: the path as keys and list indexes, so that nobody has to parse it back
    problems: Tuple[Tuple[str, str, tuple], ...] = ()


# --- positions ------------------------------------------------------------------------------------


class _Text:
    """One YAML/JSON text and the file it came from; its YAML nodes are composed on first use."""

    def __init__(self, text: str, file: Optional[str]):
        self.text = text
        self.file = file
        self._nodes: Optional[list] = None

    def node(self, document: int):
        if self._nodes is None:
            loader = _BaseLoader(self.text)
            nodes: list = []
            try:
                while loader.check_node():
                    nodes.append(loader.get_node())
            except (yaml.YAMLError, RecursionError, ValueError):
                pass  # JSON that YAML 1.1 does not read: positions are found up to there
            finally:
                loader.dispose()
            self._nodes = nodes
        return self._nodes[document] if document < len(self._nodes) else None


class Origin(str):
    """A RawObject's origin: the file (``#n`` for the n-th of several documents), "" for text
    given directly; ``locate`` finds a field path of the object in the source."""

    def __new__(cls, label: str, text: _Text, document: int, prefix: str = ""):
        self = super().__new__(cls, label)
        self.text, self.document, self.prefix = text, document, prefix
        return self

    def __reduce__(self):  # pickled as the plain label
        return (str, (str(self),))

    def item(self, index_path: str) -> "Origin":
        """The origin of an item of this object's ``items`` list (``kind: List``), or of a list."""
        return Origin(str(self), self.text, self.document, self.prefix + index_path)

    def locate(self, path: str) -> Tuple[Optional[str], Optional[int], Optional[int]]:
        """(file, line, column), 1-based, of the deepest node along ``path`` that exists."""
        node = self.text.node(self.document)
        if node is None:
            return self.text.file, None, None
        node = _walk(_walk(node, self.prefix), path, key_of_collection=True)
        mark = node.start_mark
        return self.text.file, mark.line + 1, mark.column + 1


def _key_child(node, rest: str):
    """(value node, key, key node) of the longest key of mapping ``node`` that starts ``rest``."""
    best = None
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        k = key.value
        if k == "<<":  # a merge key (the nodes are composed, not constructed): look inside
            merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for m in merged:
                if isinstance(m, yaml.MappingNode):
                    found = _key_child(m, rest)
                    if found is not None and (best is None or len(found[1]) > len(best[1])):
                        best = found
            continue
        if rest.startswith(k) and (len(rest) == len(k) or rest[len(k)] in ".[") \
                and (best is None or len(k) >= len(best[1])):  # a repeated key: the last wins
            best = (value, k, key)
    return best


def _walk(node, path: str, key_of_collection: bool = False):
    """The deepest node along ``path`` (``a.b[2].c``; keys may contain dots) from ``node``.

    With ``key_of_collection``, a mapping or sequence reached last through a key is given by
    its key node (where the field is written: `add:`, rather than the line after it)."""
    rest, key = path, None
    while rest:
        if rest[0] == "[":
            end = rest.find("]")
            index = rest[1:end] if end > 0 else ""
            if not (isinstance(node, yaml.SequenceNode) and index.isdigit()
                    and int(index) < len(node.value)):
                break
            node, rest, key = node.value[int(index)], rest[end + 1:], None
            continue
        if rest[0] == ".":
            rest = rest[1:]
        found = _key_child(node, rest) if isinstance(node, yaml.MappingNode) else None
        if found is None:
            break
        node, key, rest = found[0], found[2], rest[len(found[1]):]
    if key_of_collection and key is not None and not isinstance(node, yaml.ScalarNode):
        return key
    return node


# --- aliases --------------------------------------------------------------------------------------


def alias_limit(nodes: int) -> float:
    """The share of a document's expanded nodes that may come from alias expansion: 99 % up to
    400,000 nodes, falling linearly to 10 % at 4,000,000 and beyond (the limits of the YAML
    decoder the Kubernetes API server uses, go-yaml, since CVE-2019-11253). Documents with at most
    1,000 nodes, or at most 100 through aliases, are always accepted."""
    if nodes <= 400_000:
        return 0.99
    if nodes >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (nodes - 400_000) / 3_600_000


def _children(node):
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return ()


def _check_aliases(root) -> None:
    """Refuse a document whose alias expansion exceeds ``alias_limit``, or that contains itself.

    One pass over the composed nodes (an alias is the anchored node itself, shared): ``size`` is
    each node's size with every alias expanded, computed once per node."""
    size: dict = {}
    open_: set = set()  # nodes entered and not finished: the ancestors of the current one
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        if key in size:
            continue
        if key in open_:
            raise yaml.constructor.ConstructorError(
                None, None, "a YAML alias refers to a node that contains it (a recursive "
                "document)", node.start_mark)
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
    expanded, literal = size[id(root)], len(size)
    through_aliases = expanded - literal
    if through_aliases > 100 and expanded > 1000 \
            and through_aliases / expanded > alias_limit(expanded):
        raise yaml.constructor.ConstructorError(
            None, None, f"excessive aliasing: the document's {literal:,} nodes expand to "
            f"{expanded:,} through aliases, {through_aliases / expanded:.2%} of them from aliases "
            f"(at most {alias_limit(expanded):.0%} for a document of that size)", root.start_mark)


# --- reading --------------------------------------------------------------------------------------


# `&name` / `*name` where YAML can read them as an anchor / alias: at the start, or after a
# space, a line break or a flow indicator (a false match only costs the alias check's time)
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s,\[\]{}]")
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s,\[\]{}]")


class _Loader(_BaseLoader):
    """Safe loader that also reports duplicate keys in mappings (YAML keeps only the last one)
    and refuses excessive alias expansion (``check_aliases``)."""

    _duplicates = False
    check_aliases = True

    def construct_mapping(self, node, deep=False):
        # cheap detection while constructing; the paths are worked out only when there is one
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value != "<<"]
        if len(keys) != len(set(keys)):
            self._duplicates = True
        return super().construct_mapping(node, deep=deep)

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._tags: dict = {}

    @classmethod
    def of(cls, text: str) -> "_Loader":
        """A loader of ``text``; an alias needs an anchor: text without both tokens has none, and
        is neither walked for them nor constructed with the constructor's alias bookkeeping."""
        loader = cls(text)
        loader.check_aliases = _ANCHOR.search(text) is not None and _ALIAS.search(text) is not None
        return loader

    def resolve(self, kind, value, implicit):
        # a plain scalar's tag depends on its text alone (no path resolvers are registered): the
        # regexes are tried once per distinct short text of the document stream
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 64:
                    self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def documents(self):
        """Yield (data, problems) per document; problems list duplicate keys with their paths."""
        while self.check_node():
            node = self.get_node()
            if self.check_aliases:
                _check_aliases(node)
            self._duplicates = False
            if self.check_aliases:  # (an alias is one object reached twice: the constructor's work)
                data = self.construct_document(node)
            else:
                data = self._plain(node)
                self.constructed_objects, self.recursive_objects = {}, {}
            problems: List[Tuple[str, str, tuple]] = []
            if self._duplicates:
                _find_duplicates(node, "", (), problems, set())
            yield data, tuple(problems)


    def _plain(self, node):
        """``construct_document(node)`` for a document without aliases, written out for its
        usual nodes (string-keyed maps, sequences, strings); any other node (merge keys,
        non-string keys, other tags, scalars that are not strings) is the constructor's."""
        tag = node.tag
        kind = type(node)
        if kind is yaml.ScalarNode:
            return node.value if tag == _STR else self.construct_object(node, deep=True)
        if kind is yaml.SequenceNode and tag == _SEQ:
            return [self._plain(item) for item in node.value]
        if kind is yaml.MappingNode and tag == _MAP:
            pairs = node.value
            if all(type(k) is yaml.ScalarNode and k.tag == _STR for k, _ in pairs):
                out = {k.value: self._plain(v) for k, v in pairs}
                if len(out) != len(pairs):
                    self._duplicates = True
                return out
        return self.construct_object(node, deep=True)


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _find_duplicates(node, path: str, segments: tuple, out: list, seen_nodes: set) -> None:
    """Duplicate keys under ``node``; each node is looked at once (a node reached again through
    an alias has its problems reported at its first path)."""
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key == "<<":
                    continue
                sub, sub_segments = _join(path, key), segments + (key,)
                if key in seen:
                    line = key_node.start_mark.line + 1
                    out.append(
                        (
                            sub,
                            f"duplicate key `{key}` (line {line}, first at line {seen[key]}); "
                            "YAML keeps only the last value",
                            sub_segments,
                        )
                    )
                else:
                    seen[key] = key_node.start_mark.line + 1
            else:
                sub, sub_segments = path, segments
            _find_duplicates(value_node, sub, sub_segments, out, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, f"{path}[{i}]", segments + (i,), out, seen_nodes)


def _source_error(message: str, origin: Optional[str], mark=None) -> ConfigError:
    line = column = None
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    return ConfigError([ConfigIssue(kind="", namespace=None, name=None, path="", message=message,
                                    origin=origin, file=origin, line=line, column=column)])


def _yaml_error(exc: yaml.YAMLError, origin: Optional[str]) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        mark = exc.problem_mark or exc.context_mark
        return _source_error(f"invalid YAML: {'; '.join(parts) or 'syntax error'}", origin, mark)
    return _source_error(f"invalid YAML: {exc}", origin)


def _parse_text(text: str, origin: Optional[str]) -> List[RawObject]:
    """Split YAML (multi-document) or JSON text into RawObjects; ``origin``: the file, if any."""
    source = _Text(text, origin)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except RecursionError:
            raise _source_error("invalid JSON: nested too deeply", origin) from None
        except ValueError:
            pass  # not JSON after all: YAML flow style, or broken; YAML reports it
        else:
            return _expand(data, Origin(origin or "", source, 0))
    docs = []
    loader = _Loader.of(text)
    try:
        for data, problems in loader.documents():
            docs.append((data, problems))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, origin) from None
    except RecursionError:
        raise _source_error("invalid YAML: nested too deeply", origin) from None
    except ValueError as exc:  # a scalar YAML cannot construct, e.g. the date 2024-13-01
        raise _source_error(f"invalid YAML value: {exc}", origin) from None
    finally:
        loader.dispose()
    out: List[RawObject] = []
    numbered = len(docs) > 1
    for n, (data, problems) in enumerate(docs):
        if data is None:
            continue
        label = f"{origin}#{n + 1}" if origin and numbered else (origin or "")
        out.extend(_expand(data, Origin(label, source, n), problems))
    return out


def _expand(data: Any, origin: Optional[str], problems: tuple = ()) -> List[RawObject]:
    """Flatten lists and ``kind: *List`` objects into single objects (problems follow their item)."""
    if isinstance(data, dict):
        kind = data.get("kind")
        items = data.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            return _expand_items(items, origin, problems, "items")
        return [_raw(data, origin, tuple(problems))]
    if isinstance(data, (list, tuple)):
        return _expand_items(data, origin, problems, "")
    return [_raw(data, origin, tuple(problems))]


_FILLED_RAW = filler(RawObject)


def _raw(obj, origin, problems) -> RawObject:
    """``RawObject(obj, origin, problems)``, one per object read, made without attrs' frozen
    ``__init__`` (see schema.filler)."""
    if _FILLED_RAW is None:  # pragma: no cover - RawObject is a plain frozen class
        return RawObject(obj, origin, problems)
    raw = _FILLED_RAW()
    raw.obj, raw.origin, raw.problems = obj, origin, problems
    raw.__class__ = RawObject
    return raw


def _expand_items(items, origin, problems, field) -> List[RawObject]:
    out: List[RawObject] = []
    for i, item in enumerate(items):
        if item is None:
            continue
        prefix = f"{field}[{i}]"
        head = (field, i) if field else (i,)
        mine = tuple(
            (p[len(prefix):].lstrip("."), msg, segments[len(head):])
            for p, msg, segments in problems
            if segments[:len(head)] == head
        )
        out.extend(_expand(item, origin.item(("." if field else "") + prefix)
                           if isinstance(origin, Origin) else origin, mine))
    return out


def _read_file(path: str) -> List[RawObject]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise _source_error(f"cannot read file: {exc.strerror or exc}", path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _source_error(f"file is not valid UTF-8: {exc}", path) from None
    return _parse_text(text, path)


def config_files(path: str) -> List[str]:
    """The configuration files under folder ``path`` (.yaml, .yml, .json), sorted, recursively."""
    files = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in names:
            if name.lower().endswith(_EXTENSIONS):
                files.append(os.path.join(root, name))
    return sorted(files)


def read_path(path) -> List[RawObject]:
    """The objects of a file, or of every configuration file under a folder; never text."""
    path = os.fspath(path)
    if os.path.isdir(path):
        out: List[RawObject] = []
        for f in config_files(path):
            out.extend(_read_file(f))
        return out
    if os.path.isfile(path):
        return _read_file(path)
    raise _source_error("no such file or directory", path)


def read_text(text, name: Optional[str] = None) -> List[RawObject]:
    """The objects of YAML/JSON ``text`` (str or UTF-8 bytes); ``name`` stands for the file in
    positions (e.g. "<stdin>")."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _source_error(f"configuration bytes are not UTF-8 text: {exc}", name) from None
    return _parse_text(text, name)


def _looks_like_path(text: str) -> bool:
    if "\n" in text or not text.strip():
        return False
    return os.path.exists(text) or text.strip().lower().endswith(_EXTENSIONS)


def read_source(source) -> List[RawObject]:
    """Read ``source`` (path, text, dict or iterable of dicts) into a list of RawObjects."""
    if isinstance(source, os.PathLike):
        return read_path(source)
    if isinstance(source, bytes):
        return read_text(source)
    if isinstance(source, str):
        if _looks_like_path(source):
            return read_path(source.strip())
        return _parse_text(source, None)
    if isinstance(source, dict):
        return _expand(source, None)
    if source is None:
        raise _source_error("no configuration source given (got None)", None)
    try:
        items = list(source)
    except TypeError:
        raise _source_error(
            f"unsupported source type `{type(source).__name__}`: expected a path, YAML/JSON text, "
            "a dict or an iterable of dicts",
            None,
        ) from None
    out: List[RawObject] = []
    for item in items:
        if type(item) is dict:  # the usual item: one object, unless a ``kind: *List`` (_expand)
            kind = item.get("kind")
            if isinstance(kind, str) and kind.endswith("List"):
                out.extend(_expand(item, None))
            else:
                out.append(_raw(item, None, ()))
        elif isinstance(item, os.PathLike):
            out.extend(read_path(item))
        elif item is not None:
            out.extend(_expand(item, None))
    return out
