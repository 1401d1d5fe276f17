"""A Config with some objects replaced or removed, parsing only those objects.

Invariants:
- ``patch(config, changed, removed)`` is the Config a full ``parse`` of the final set of objects
  gives, up to the order of the items in its tuples (the replaced and added objects' items come
  last): only the objects in ``changed`` are validated and built, every other item is the very
  same model object as before, and so is a changed object's model when it is equal to the one it
  replaces, in the same place (identity is what lets the compiler reuse what it built from it);
  ``changes`` lists (old, new) per model that differs: the replaced and removed ones in the old
  order, then the added ones; the new models come last in the Config, in that same order;
- an object is named by its key ``(kind, namespace, name)``; the namespace is None for a
  cluster-scoped kind (Namespace) and "default" when a namespaced object gives none, as parse
  reads it; every item of a Config (route, Gateway, Service, grant, Namespace, rejected route,
  issue, skipped object) belongs to the key of the object it came from (``item_key``), so
  replacing an object drops its issues and its "skipped" line too;
- ``services`` keeps parse's meaning: None exactly when no Service object is left (a valid one
  among ``services`` or an invalid one among ``issues``);
- with ``config.strict`` a changed object with problems raises ConfigError (every problem of the
  changed objects) and nothing is patched.
"""
from __future__ import annotations

import operator
from typing import Dict, Iterable, List, Optional, Set, Tuple

import attrs

from .models import Config
from .parse import identity, parse
from .sources import RawObject

Key = Tuple[str, Optional[str], str]

CLUSTER_SCOPED = frozenset({"Namespace", "GatewayClass"})


def object_key(obj: dict) -> Key:
    """The key of a raw object (a dict with kind and metadata)."""
    ns, name = identity(obj)
    kind = obj.get("kind")
    return (kind, None if kind in CLUSTER_SCOPED else ns, name)


def normal_key(key: Key) -> Key:
    kind, ns, name = key
    return (kind, None if kind in CLUSTER_SCOPED else (ns or "default"), name)


def item_key(item) -> Key:
    """The key of the object a Config item came from."""
    if isinstance(item, str):  # a "skipped" line: "Kind namespace/name"
        kind, _, rest = item.partition(" ")
        ns, _, name = rest.partition("/")
        return normal_key((kind, ns, name))
    kind = item.kind if hasattr(item, "kind") else type(item).__name__
    return (kind, None if kind in CLUSTER_SCOPED else getattr(item, "namespace", None), item.name)


_KEY3 = operator.attrgetter("kind", "namespace", "name")


def _keyer(items: tuple):
    """``item_key`` for the items of one field; models with a kind, namespace and name (most)
    through one C-level attribute getter."""
    first = items[0] if items else None
    if first is None or isinstance(first, str) or first.kind in CLUSTER_SCOPED \
            or not hasattr(first, "namespace"):
        return item_key
    return _KEY3


def _items(config: Config) -> Dict[str, tuple]:
    """The tuple-valued fields of a Config (services None reads as ())."""
    out = {}
    for f in attrs.fields(Config):
        value = getattr(config, f.name)
        if isinstance(value, tuple) or (value is None and f.name == "services"):
            out[f.name] = value or ()
    return out


def patch(config: Config, changed: Iterable[dict] = (), removed: Iterable[Key] = ()
          ) -> Tuple[Config, Set[Key], List[tuple]]:
    """``config`` with the objects ``changed`` (raw dicts) put in and those named by ``removed``
    taken out; the keys touched (every changed and removed one); and (old model or None, new
    model or None) of every model of a touched key that is not the same object in both
    (issues and "skipped" lines aside)."""
    changed = list(changed)
    touched = {normal_key(k) for k in removed} | {object_key(o) for o in changed}
    if not touched:
        return config, touched, []
    fragment = parse([RawObject(o) for o in changed], strict=config.strict)
    new_items = _items(fragment)
    fields: Dict[str, tuple] = {}
    changes: List[tuple] = []
    for name, items in _items(config).items():
        key = _keyer(items)
        if name in _NOT_MODELS:  # (several per object: the changed objects' own replace them)
            fields[name] = tuple(i for i in items if key(i) not in touched) + new_items[name]
            continue
        incoming = {item_key(i): i for i in new_items.get(name, ())}
        keys = list(map(key, items))  # (C speed for models: the touched ones are few)
        at = {}
        if len(touched) > _FEW:  # one pass over the keys, each looked up in touched
            at = {n: x for n, x in enumerate(keys) if x in touched}
        else:  # a pass per touched key, at C speed (an update of an object or two: the usual case)
            for k in touched:
                count = keys.count(k)
                if count == 1:
                    at[keys.index(k)] = k
                elif count:  # (a Config added up from several may hold a key twice)
                    at.update((n, k) for n, x in enumerate(keys) if x == k)
        kept, appended, replaced = list(items), [], []
        for n in sorted(at, reverse=True):
            i, k = items[n], at[n]
            if incoming.get(k) == i:
                del incoming[k]  # an equal model stays, the same object in the same place
                continue
            del kept[n]
            new = incoming.pop(k, None)
            replaced.append((i, new))
            if new is not None:
                appended.append(new)
        changes += reversed(replaced)  # (found from the end: the old order again)
        appended.reverse()
        changes += [(None, i) for i in incoming.values()]
        fields[name] = tuple(kept) + tuple(appended) + tuple(incoming.values())
    if not fields["services"] and not any(i.kind == "Service" for i in fields["issues"]):
        fields["services"] = None  # type: ignore[assignment]
    return attrs.evolve(config, **fields), touched, changes


_NOT_MODELS = ("issues", "skipped")
_FEW = 8  # touched keys up to which patch searches the items per key (see patch)
