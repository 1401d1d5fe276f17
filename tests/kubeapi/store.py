"""The test server's state: objects, the resourceVersion counter, the event history, the open
watches, and the API conventions that act on them (see server.py for the invariants).
"""
from __future__ import annotations

import copy
import datetime as _dt
import queue
import random
import string
import threading
import uuid
from typing import Dict, List, Optional, Tuple

from .kinds import Kind


def now_rfc3339() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Optional[dict] = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            out["details"] = self.details
        return out


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _match_labels(selector: str, labels: dict) -> bool:
    """Equality-based and existence label selectors (``a=b,c!=d,e,!f``) and set-based in/notin."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    parts.append(cur)
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if " notin " in part or " in " in part:
            neg = " notin " in part
            key, values = part.split(" notin " if neg else " in ", 1)
            values = {v.strip() for v in values.strip().strip("()").split(",")}
            has = labels.get(key.strip()) in values
            if has == neg:
                return False
        elif "!=" in part:
            key, value = part.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in part:
            key, value = part.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif part.startswith("!"):
            if part[1:].strip() in labels:
                return False
        elif part not in labels:
            return False
    return True


def _field_value(obj: dict, field: str, kind: Kind):
    if field == "metadata.name":
        return obj["metadata"].get("name")
    if field == "metadata.namespace" and kind.namespaced:
        return obj["metadata"].get("namespace")
    if field == "type" and kind.kind == "Secret":
        return obj.get("type")
    raise ApiError(400, "BadRequest", f'"{field}" is not a known field selector: only '
                                      '"metadata.name", "metadata.namespace"')


def _match_fields(selector: str, obj: dict, kind: Kind) -> bool:
    for part in (p.strip() for p in selector.split(",")):
        if not part:
            continue
        neg = "!=" in part
        key, value = part.replace("==", "=").split("!=" if neg else "=", 1)
        if (_field_value(obj, key.strip(), kind) == value.strip()) == neg:
            return False
    return True


class _Watch:
    def __init__(self, kind, namespace, label_selector, field_selector):
        self.kind, self.namespace = kind, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.events: "queue.Queue" = queue.Queue()

    def wants(self, kind: Kind, obj: dict) -> bool:
        if kind != self.kind:
            return False
        meta = obj["metadata"]
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.label_selector and not _match_labels(self.label_selector, meta.get("labels") or {}):
            return False
        if self.field_selector and not _match_fields(self.field_selector, obj, kind):
            return False
        return True


class Store:
    """The objects, the resourceVersion counter, the event history and the open watches."""

    def __init__(self, history: int = 1000):
        self.lock = threading.RLock()
        self.rv = 100  # etcd revisions do not start at 1 in a real cluster either
        self.objects: Dict[Tuple[str, str], Dict[Tuple[str, str], dict]] = {}
        self.history: List[Tuple[int, Kind, str, dict]] = []
        self.history_limit = history
        self.compacted = self.rv  # watches from an older resourceVersion get 410
        self.expire_watches = False  # a control: every watch from a resourceVersion gets 410
        self.watches: List[_Watch] = []
        # counted per (API verb: list, watch, get, create, update, patch, delete; plural;
        # subresource): what tests assert about the requests made
        self.requests: Dict[Tuple[str, str, str], int] = {}
        self.versions: Dict[Tuple[str, str], int] = {}  # (plural, version) -> requests at that version

    def _bucket(self, kind: Kind):
        return self.objects.setdefault((kind.group, kind.plural), {})

    def _record(self, kind: Kind, type_: str, obj: dict):
        self.history.append((self.rv, kind, type_, copy.deepcopy(obj)))
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.compacted = self.history[drop - 1][0]
            del self.history[:drop]
        for w in list(self.watches):
            if w.wants(kind, obj):
                w.events.put((type_, copy.deepcopy(obj)))

    def compact(self):
        """Forget the event history (etcd compaction): older resourceVersions answer 410."""
        with self.lock:
            self.history.clear()
            self.compacted = self.rv

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def list(self, kind: Kind, namespace, label_selector=None, field_selector=None):
        with self.lock:
            items = [copy.deepcopy(o) for (ns, _), o in sorted(self._bucket(kind).items())
                     if (namespace is None or ns == namespace)
                     and (not label_selector or _match_labels(label_selector, o["metadata"].get("labels") or {}))
                     and (not field_selector or _match_fields(field_selector, o, kind))]
            return items, str(self.rv)

    def get(self, kind: Kind, namespace, name) -> dict:
        with self.lock:
            obj = self._bucket(kind).get((namespace or "", name))
            if obj is None:
                raise _not_found(kind, name)
            return copy.deepcopy(obj)

    def create(self, kind: Kind, namespace, obj: dict, dry_run=False) -> dict:
        with self.lock:
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
            name = meta.get("name")
            if not name:
                raise ApiError(422, "Invalid", f"{kind.kind} is invalid: metadata.name: Required value: "
                                               "name or generateName is required")
            if kind.namespaced:
                if meta.get("namespace") not in (None, namespace):
                    raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                                                      "match the namespace sent on the request")
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            bucket = self._bucket(kind)
            key = (namespace or "", name)
            if key in bucket:
                raise ApiError(409, "AlreadyExists", f'{kind.plural}{"." + kind.group if kind.group else ""} '
                                                     f'"{name}" already exists',
                               {"name": name, "group": kind.group, "kind": kind.plural})
            if kind.status:
                obj.pop("status", None)  # status is written through /status only
            meta.pop("resourceVersion", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if kind.generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if kind.kind == "Namespace":
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
                obj.setdefault("spec", {"finalizers": ["kubernetes"]})
                obj["status"] = {"phase": "Active"}
            if dry_run:
                return obj
            meta["resourceVersion"] = self.next_rv()
            bucket[key] = obj
            self._record(kind, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, kind: Kind, namespace, name, obj: dict, subresource=None, dry_run=False) -> dict:
        with self.lock:
            bucket = self._bucket(kind)
            key = (namespace or "", name)
            old = bucket.get(key)
            if old is None:
                raise _not_found(kind, name)
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            if meta.get("name") not in (None, name):
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            rv = meta.get("resourceVersion")
            if rv in (None, "") and not kind.builtin:
                raise ApiError(422, "Invalid", f'{kind.kind}.{kind.group} "{name}" is invalid: '
                                               "metadata.resourceVersion: Invalid value: 0x0: must be "
                                               "specified for an update")
            if rv not in (None, "") and rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind.plural}'
                                                f'{"." + kind.group if kind.group else ""} "{name}": the '
                                                "object has been modified; please apply your changes to "
                                                "the latest version and try again",
                               {"name": name, "group": kind.group, "kind": kind.plural})
            if subresource == "status":
                new = copy.deepcopy(old)
                if "status" in obj:
                    new["status"] = obj["status"]
                else:
                    new.pop("status", None)
            else:
                new = copy.deepcopy(obj)
                new_meta = new.setdefault("metadata", {})
                for fixed in ("uid", "creationTimestamp", "namespace", "name", "generation"):
                    if fixed in old["metadata"]:
                        new_meta[fixed] = old["metadata"][fixed]
                    else:
                        new_meta.pop(fixed, None)
                new["apiVersion"], new["kind"] = old.get("apiVersion"), old.get("kind")
                if kind.status:  # status written on the main resource is ignored
                    if "status" in old:
                        new["status"] = old["status"]
                    else:
                        new.pop("status", None)
                if kind.generation and _spec_part(new) != _spec_part(old):
                    new_meta["generation"] = old["metadata"].get("generation", 1) + 1
            if new == old or (subresource != "status" and _same_but_rv(new, old)):
                return copy.deepcopy(old)  # a no-op write changes nothing, not even the resourceVersion
            if dry_run:
                return new
            new["metadata"]["resourceVersion"] = self.next_rv()
            bucket[key] = new
            self._record(kind, "MODIFIED", new)
            return copy.deepcopy(new)

    def delete(self, kind: Kind, namespace, name, dry_run=False) -> dict:
        with self.lock:
            bucket = self._bucket(kind)
            key = (namespace or "", name)
            if key not in bucket:
                raise _not_found(kind, name)
            if dry_run:
                return copy.deepcopy(bucket[key])
            obj = bucket.pop(key)
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self._record(kind, "DELETED", obj)
            return copy.deepcopy(obj)

    def open_watch(self, kind, namespace, since: Optional[str], label_selector, field_selector):
        """Register a watch; return (watch, initial events) or raise ApiError(410)."""
        with self.lock:
            w = _Watch(kind, namespace, label_selector, field_selector)
            initial = []
            if since in (None, "", "0"):
                # "Get State and Start at Most Recent": synthetic ADDED for what exists now
                items, _ = self.list(kind, namespace, label_selector, field_selector)
                initial = [("ADDED", o) for o in items]
            else:
                try:
                    start = int(since)
                except ValueError:
                    raise ApiError(400, "BadRequest", f"invalid resource version {since!r}") from None
                if start < self.compacted or self.expire_watches:
                    raise ApiError(410, "Expired", f"too old resource version: {start} ({self.compacted})")
                initial = [(t, copy.deepcopy(o)) for rv, k, t, o in self.history
                           if rv > start and w.wants(k, o)]
            self.watches.append(w)
            return w, initial

    def close_watch(self, w):
        with self.lock:
            if w in self.watches:
                self.watches.remove(w)


def _same_but_rv(new, old) -> bool:
    a, b = copy.deepcopy(new), copy.deepcopy(old)
    a["metadata"].pop("resourceVersion", None)
    b["metadata"].pop("resourceVersion", None)
    a["metadata"].pop("managedFields", None)
    b["metadata"].pop("managedFields", None)
    return a == b


def _not_found(kind: Kind, name: str) -> ApiError:
    group = "." + kind.group if kind.group else ""
    return ApiError(404, "NotFound", f'{kind.plural}{group} "{name}" not found',
                    {"name": name, "group": kind.group, "kind": kind.plural})
