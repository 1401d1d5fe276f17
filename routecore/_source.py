"""Reads configuration sources (paths, YAML/JSON text, dicts, iterables) into raw Kubernetes objects.

Invariants:
- ``read_source`` returns RawObjects in a deterministic order (files sorted, documents in order);
- every ``kind: ...List`` with ``items`` is flattened (recursively); empty YAML documents are dropped;
- a RawObject's ``obj`` is whatever the document held (parse reports non-mappings); mappings are
  plain dicts/lists/scalars as YAML or JSON built them;
- source-level problems (missing path, unreadable file, YAML syntax) raise ConfigError at once;
  duplicate mapping keys (which YAML silently resolves) are carried as RawObject.problems.
"""
from __future__ import annotations

import json
import os
from typing import Any, List, Optional, Tuple

import yaml
from attrs import frozen

from ._errors import ConfigError, ConfigIssue

_EXTENSIONS = (".yaml", ".yml", ".json")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@frozen
class RawObject:
    """One Kubernetes object as written, plus where it came from."""

    obj: Any
    origin: Optional[str] = None
    # (path, message) problems found while reading, e.g. duplicate mapping keys
    problems: Tuple[Tuple[str, str], ...] = ()


class _Loader(_BaseLoader):
    """Safe loader that also reports duplicate keys in mappings (YAML keeps only the last one)."""

    _duplicates = False

    def construct_mapping(self, node, deep=False):
        # cheap detection while constructing; the paths are worked out only when there is one
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value != "<<"]
        if len(keys) != len(set(keys)):
            self._duplicates = True
        return super().construct_mapping(node, deep=deep)

    def documents(self):
        """Yield (data, problems) per document; problems list duplicate keys with their paths."""
        while self.check_node():
            node = self.get_node()
            self._duplicates = False
            data = self.construct_document(node)
            problems: List[Tuple[str, str]] = []
            if self._duplicates:
                _find_duplicates(node, "", problems)
            yield data, tuple(problems)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _find_duplicates(node, path: str, out: list) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key == "<<":
                    continue
                sub = _join(path, key)
                if key in seen:
                    line = key_node.start_mark.line + 1
                    out.append(
                        (
                            sub,
                            f"duplicate key `{key}` (line {line}, first at line {seen[key]}); "
                            "YAML keeps only the last value",
                        )
                    )
                else:
                    seen[key] = key_node.start_mark.line + 1
            else:
                sub = path
            _find_duplicates(value_node, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, f"{path}[{i}]", out)


def _source_error(message: str, origin: Optional[str]) -> ConfigError:
    return ConfigError([ConfigIssue(kind="", namespace=None, name=None, path="", message=message, origin=origin)])


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"invalid YAML: {'; '.join(parts) or 'syntax error'}{where}"
    return f"invalid YAML: {exc}"


def _parse_text(text: str, origin: Optional[str]) -> List[RawObject]:
    """Split YAML (multi-document) or JSON text into RawObjects."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except RecursionError:
            raise _source_error("invalid JSON: nested too deeply", origin) from None
        except ValueError:
            pass  # not JSON after all: YAML flow style, or broken; YAML reports it
        else:
            return _expand(data, origin)
    docs = []
    loader = _Loader(text)
    try:
        for data, problems in loader.documents():
            docs.append((data, problems))
    except yaml.YAMLError as exc:
        raise _source_error(_yaml_error_message(exc), origin) from None
    except RecursionError:
        raise _source_error("invalid YAML: nested too deeply", origin) from None
    except ValueError as exc:  # a scalar YAML cannot construct, e.g. the date 2024-13-01
        raise _source_error(f"invalid YAML value: {exc}", origin) from None
    finally:
        loader.dispose()
    out: List[RawObject] = []
    numbered = len(docs) > 1
    for n, (data, problems) in enumerate(docs, 1):
        if data is None:
            continue
        doc_origin = f"{origin}#{n}" if origin and numbered else origin
        out.extend(_expand(data, doc_origin, problems))
    return out


def _expand(data: Any, origin: Optional[str], problems: tuple = ()) -> List[RawObject]:
    """Flatten lists and ``kind: *List`` objects into single objects (problems follow their item)."""
    if isinstance(data, dict):
        kind = data.get("kind")
        items = data.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            return _expand_items(items, origin, problems, "items")
        return [RawObject(data, origin, tuple(problems))]
    if isinstance(data, (list, tuple)):
        return _expand_items(data, origin, problems, "")
    return [RawObject(data, origin, tuple(problems))]


def _expand_items(items, origin, problems, field) -> List[RawObject]:
    out: List[RawObject] = []
    for i, item in enumerate(items):
        if item is None:
            continue
        prefix = f"{field}[{i}]"
        mine = tuple(
            (p[len(prefix):].lstrip("."), msg)
            for p, msg in problems
            if p == prefix or p.startswith(prefix + ".") or p.startswith(prefix + "[")
        )
        out.extend(_expand(item, origin, mine))
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


def _read_path(path: str) -> List[RawObject]:
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in names:
                if name.lower().endswith(_EXTENSIONS):
                    files.append(os.path.join(root, name))
        out: List[RawObject] = []
        for f in sorted(files):
            out.extend(_read_file(f))
        return out
    if os.path.isfile(path):
        return _read_file(path)
    raise _source_error("no such file or directory", path)


def _looks_like_path(text: str) -> bool:
    if "\n" in text or not text.strip():
        return False
    return os.path.exists(text) or text.strip().lower().endswith(_EXTENSIONS)


def read_source(source) -> List[RawObject]:
    """Read ``source`` (path, text, dict or iterable of dicts) into a list of RawObjects."""
    if isinstance(source, os.PathLike):
        return _read_path(os.fspath(source))
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _source_error(f"configuration bytes are not UTF-8 text: {exc}", None) from None
    if isinstance(source, str):
        if _looks_like_path(source):
            return _read_path(source.strip())
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
        if isinstance(item, os.PathLike):
            out.extend(_read_path(os.fspath(item)))
        elif item is not None:
            out.extend(_expand(item, None))
    return out
