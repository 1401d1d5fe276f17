"""read_source / load: every accepted source form, and source-level errors."""
import json
import subprocess
import sys
import pathlib

import pytest
import yaml

from routecore._errors import ConfigError
from routecore._config.load import load
from routecore._config.sources import RawObject, read_source

ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "r", "namespace": "ns"},
    "spec": {"rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]},
}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns", "labels": {"team": "a"}}}


def _names(raws):
    return [r.obj["metadata"]["name"] for r in raws]


def test_yaml_text_single_document():
    raws = read_source(yaml.safe_dump(ROUTE))
    assert len(raws) == 1 and raws[0].obj == ROUTE and isinstance(raws[0], RawObject)


def test_multi_document_yaml_skips_empty_documents():
    text = "---\n" + yaml.safe_dump(ROUTE) + "---\n---\n" + yaml.safe_dump(NAMESPACE) + "---\n"
    raws = read_source(text)
    assert [r.obj["kind"] for r in raws] == ["HTTPRoute", "Namespace"]


def test_json_text():
    assert read_source(json.dumps(ROUTE))[0].obj == ROUTE
    assert [r.obj["kind"] for r in read_source(json.dumps([ROUTE, NAMESPACE]))] == ["HTTPRoute", "Namespace"]


def test_dict_and_iterables():
    assert read_source(ROUTE)[0].obj == ROUTE
    assert len(read_source([ROUTE, NAMESPACE])) == 2
    assert len(read_source((x for x in [ROUTE, NAMESPACE]))) == 2


@pytest.mark.parametrize("list_kind", ["List", "HTTPRouteList", "ConfigMapList"])
def test_list_kinds_are_flattened_recursively(list_kind):
    nested = {"apiVersion": "v1", "kind": list_kind, "items": [ROUTE, {"kind": "List", "items": [NAMESPACE]}]}
    assert [r.obj["kind"] for r in read_source(nested)] == ["HTTPRoute", "Namespace"]
    assert [r.obj["kind"] for r in read_source(yaml.safe_dump(nested))] == ["HTTPRoute", "Namespace"]


def test_file_and_origin(tmp_path):
    f = tmp_path / "route.yaml"
    f.write_text(yaml.safe_dump(ROUTE))
    for source in (f, str(f)):
        raws = read_source(source)
        assert raws[0].obj == ROUTE and raws[0].origin == str(f)
    multi = tmp_path / "multi.yml"
    multi.write_text(yaml.safe_dump(ROUTE) + "---\n" + yaml.safe_dump(NAMESPACE))
    assert [r.origin for r in read_source(multi)] == [f"{multi}#1", f"{multi}#2"]


def test_json_file(tmp_path):
    f = tmp_path / "route.json"
    f.write_text(json.dumps(ROUTE))
    assert read_source(f)[0].obj == ROUTE


def test_folder_is_read_recursively_sorted_and_filtered(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c").mkdir()
    for rel, name in (("b/c/z.yaml", "deep"), ("a.yml", "first"), ("b/x.json", "mid")):
        obj = dict(ROUTE, metadata={"name": name, "namespace": "ns"})
        (tmp_path / rel).write_text(json.dumps(obj) if rel.endswith(".json") else yaml.safe_dump(obj))
    (tmp_path / "README.md").write_text("not: [yaml")
    (tmp_path / "b" / "notes.txt").write_text("kind: HTTPRoute")
    assert _names(read_source(tmp_path)) == ["first", "deep", "mid"]
    assert _names(read_source(str(tmp_path))) == ["first", "deep", "mid"]


def test_missing_path_is_a_config_error(tmp_path):
    for source in (str(tmp_path / "nope.yaml"), tmp_path / "nope", tmp_path / "gone.json"):
        with pytest.raises(ConfigError) as info:
            read_source(source)
        assert "no such file" in str(info.value)


def test_text_is_not_mistaken_for_a_path():
    # one line, no such file, no yaml extension: it is YAML text
    raws = read_source('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}')
    assert raws[0].obj["kind"] == "Namespace"


def test_yaml_syntax_error_has_line_and_column():
    with pytest.raises(ConfigError) as info:
        read_source("kind: HTTPRoute\nspec:\n  rules: [a\n  b: c\n")
    issue = info.value.errors[0]
    assert issue.kind == "" and issue.path == "" and issue.namespace is None and issue.name is None
    assert (issue.line, issue.column) == (4, 4) and issue.file is None
    assert str(info.value).startswith("<string>:4:4: object: invalid YAML: ")


def test_yaml_syntax_error_in_file_names_the_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("a: [1\n")
    with pytest.raises(ConfigError) as info:
        read_source(f)
    assert info.value.errors[0].origin == str(f)
    assert str(f) in str(info.value)


def test_yaml_syntax_error_raises_even_when_not_strict():
    with pytest.raises(ConfigError):
        load("a: [1\n", strict=False)


def test_duplicate_keys_are_reported_with_a_path():
    text = yaml.safe_dump(ROUTE) + "extra: 1\n"
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  rules:
  - backendRefs:
    - name: a
      port: 80
      name: b
"""
    raws = read_source(text)
    assert raws[0].problems and raws[0].problems[0][0] == "spec.rules[0].backendRefs[0].name"
    with pytest.raises(ConfigError) as info:
        load(text)
    assert "spec.rules[0].backendRefs[0].name: duplicate key `name`" in str(info.value)
    assert "HTTPRoute ns/r" in str(info.value)


def test_non_mapping_document_is_an_issue():
    with pytest.raises(ConfigError) as info:
        load("just a string\n")
    assert "mapping" in str(info.value)
    cfg = load("42\n---\n" + yaml.safe_dump(NAMESPACE), strict=False)
    assert len(cfg.namespaces) == 1 and len(cfg.issues) == 1


def test_unsupported_source_type():
    with pytest.raises(ConfigError):
        read_source(42)


def test_pathlib_path_object(tmp_path):
    f = pathlib.Path(tmp_path) / "r.yaml"
    f.write_text(yaml.safe_dump(ROUTE))
    assert load(f).routes[0].name == "r"


def test_yaml_anchors_and_merge_keys_are_not_duplicates():
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  rules:
  - backendRefs:
    - &b {name: a, port: 80}
    - <<: *b
      name: b
"""
    raws = read_source(text)
    assert raws[0].problems == ()
    assert [b.name for b in load(text).routes[0].rules[0].backend_refs] == ["a", "b"]


def test_duplicate_keys_inside_list_items_keep_their_item_path():
    text = "kind: List\nitems:\n- kind: Namespace\n  apiVersion: v1\n  metadata: {name: a, name: b}\n"
    raws = read_source(text)
    assert raws[0].problems[0][0] == "metadata.name"
    with pytest.raises(ConfigError) as info:
        load(text)
    assert "metadata.name: duplicate key `name`" in str(info.value)


@pytest.mark.parametrize("source, fragment", [
    (b"\xff\n", "not UTF-8"),
    ("[" * 100000, "nested too deeply"),
    ('{"a":' * 100000, "nested too deeply"),
    ("a: 2024-13-01\n", "invalid YAML value"),
    ("a: 2024-01-01T00:00:00+25:00\n", "invalid YAML value"),
])
def test_hostile_sources_are_config_errors(source, fragment):
    """Found by fuzz/fuzz_load.py: each of these raised something other than ConfigError."""
    with pytest.raises(ConfigError, match=fragment):
        load(source)


# --- aliases: linear loading, capped expansion (issue 11, item 6) --------------------------------


def _laughs(levels: int, width: int = 9, duplicate: bool = True) -> str:
    """"Billion laughs": each level an anchored list of ``width`` aliases of the one before; one
    duplicate key (which made the duplicate search walk every expanded path)."""
    lines = ["apiVersion: v1", "kind: Namespace",
             "metadata: {name: a, name: b}" if duplicate else "metadata: {name: a}",
             "l0: &l0 [" + ",".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_with_a_duplicate_key_is_refused_at_once(tmp_path):
    text = _laughs(13)
    assert len(text.encode()) >= 637  # the issue's 637 bytes took over 60 s
    f = tmp_path / "laughs.yaml"
    f.write_text(text)
    code = ("import routecore, sys\n"
            "try:\n routecore.load(sys.argv[1])\nexcept routecore.ConfigError as e:\n print(e)\n")
    # a generous bound: the refusal takes a millisecond; before the cap it took minutes
    r = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{f}:1:1: object: invalid YAML: excessive aliasing: ")


def test_aliasing_within_the_cap_loads_and_duplicates_are_searched_once_per_node(monkeypatch):
    from routecore._config import sources as _source

    text = _laughs(3)  # 40 nodes that expand to 820 (under 1,000: always accepted)
    calls = []
    real = _source._find_duplicates
    monkeypatch.setattr(_source, "_find_duplicates",
                        lambda node, *rest: calls.append(node) or real(node, *rest))
    raws = read_source(text)
    assert raws[0].problems[0][0] == "metadata.name"
    assert len(raws[0].obj["l2"]) == 9 and raws[0].obj["l2"][8][8] == ["lol"] * 9
    # every composed node at most once, not once per path through the aliases (820)
    assert len(calls) <= 60


def test_the_alias_cap_follows_kubernetes_ratio():
    from routecore._config.sources import alias_limit

    assert alias_limit(1000) == alias_limit(400_000) == 0.99
    assert alias_limit(4_000_000) == alias_limit(10 ** 9) == 0.10
    assert 0.10 < alias_limit(2_200_000) < 0.99
    # a real configuration that reuses an anchored match 200 times is well within it
    rules = "\n".join("  - matches: [*m]\n    backendRefs: [{name: s, port: 80}]" for _ in range(200))
    text = ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
            "metadata: {name: r, namespace: ns}\n"
            "x-anchors: &m {path: {type: PathPrefix, value: /a}, headers: [{name: h, value: v}]}\n"
            f"spec:\n  rules:\n{rules}\n")
    raws = read_source(text)
    assert len(raws[0].obj["spec"]["rules"]) == 200


def test_a_recursive_alias_is_refused():
    with pytest.raises(ConfigError, match="recursive"):
        load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nloop: &a [1, *a]\n")


# --- positions of problems (issue 11, item 11) ----------------------------------------------------


def _at(text: str, issue) -> str:
    """The source text from the issue's line and column to the end of that line."""
    return text.splitlines()[issue.line - 1][issue.column - 1:]


LISTED = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: ok}
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata:
    name: r
    namespace: ns
    labels: {app.kubernetes.io/name: [1]}
  spec:
    parentRefs: [{name: gw}]
    rules:
    - matches:
      - path: {type: PathPrefix, value: /ok}
    - matches:
      - path: {type: PathPrefix, value: no-slash}
      backendRefs:
      - {port: 80}
"""


def test_every_issue_has_file_line_and_column_inside_a_list(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text(LISTED)
    with pytest.raises(ConfigError) as info:
        load(f)
    by_path = {i.path: i for i in info.value.errors}
    assert all(i.file == str(f) and i.line and i.column for i in info.value.errors)
    value = by_path["spec.rules[1].matches[0].path.value"]
    assert (value.line, _at(LISTED, value)) == (19, "no-slash}")
    assert str(value) == (f"{f}:19:41: HTTPRoute ns/r: spec.rules[1].matches[0].path.value: "
                          "must start with '/'")
    # a missing field: the deepest node that exists (the backendRef mapping)
    missing = next(i for p, i in by_path.items() if p.startswith("spec.rules[1].backendRefs[0]"))
    assert (missing.line, _at(LISTED, missing)) == (21, "{port: 80}")
    # a label key with dots in it
    label = next(i for p, i in by_path.items() if p.startswith("metadata.labels"))
    assert _at(LISTED, label) == "app.kubernetes.io/name: [1]}"  # a collection: at its key


def test_positions_in_json_and_multi_document_files(tmp_path):
    obj = dict(ROUTE, spec={"rules": [{"backendRefs": [{"name": "svc", "port": 99999}]}]})
    j = tmp_path / "r.json"
    text = json.dumps(obj, indent=2)
    j.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(j)
    issue = info.value.errors[0]
    assert issue.path == "spec.rules[0].backendRefs[0].port" and _at(text, issue) == "99999"
    multi = tmp_path / "m.yaml"
    text = yaml.safe_dump(NAMESPACE) + "---\n" + yaml.safe_dump(obj)
    multi.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(multi)
    issue = info.value.errors[0]
    assert issue.origin == f"{multi}#2" and _at(text, issue).startswith("99999")
    assert str(issue).startswith(f"{multi}:{issue.line}:{issue.column}: HTTPRoute ns/r: ")


def test_lenient_issues_and_duplicate_keys_are_located():
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n"
    cfg = load(text, strict=False)
    issue = cfg.issues[0]
    assert (issue.file, issue.line, issue.column, issue.origin) == (None, 5, 9, None)
    assert str(issue).startswith("<string>:5:9: Namespace b: metadata.name: duplicate key")


def test_objects_given_as_dicts_have_no_position():
    with pytest.raises(ConfigError) as info:
        load(dict(ROUTE, spec={"rules": [{"backendRefs": [{"name": "svc", "port": 0}]}]}))
    issue = info.value.errors[0]
    assert issue.line is None and str(issue).startswith("HTTPRoute ns/r: ")


def test_read_path_never_reads_text(tmp_path):
    from routecore._config.sources import read_path, read_text

    with pytest.raises(ConfigError, match="no such file"):
        read_path("kind: Namespace")
    assert read_text(yaml.safe_dump(NAMESPACE), "<stdin>")[0].obj == NAMESPACE
    with pytest.raises(ConfigError) as info:
        read_text("a: [1\n", "<stdin>")
    assert str(info.value).startswith("<stdin>:2:1: object: invalid YAML: ")


def test_text_without_anchors_is_not_walked_for_aliases(monkeypatch):
    from routecore._config import sources as _source

    walked = []
    real = _source._check_aliases
    monkeypatch.setattr(_source, "_check_aliases", lambda node: walked.append(node) or real(node))
    # `*` and `&` inside scalars are not YAML anchors or aliases
    read_source('kind: Namespace\nmetadata: {name: "a"}\nx: "^/a/.*$"\ny: "/q?a=1&b=2"\nz: a*b&c\n')
    assert walked == []
    read_source("kind: Namespace\nmetadata: &m {name: a}\nother: *m\n")
    assert len(walked) == 1


def test_an_iterable_of_dicts_expands_its_lists_only():
    """read_source's loop takes a dict as one object itself (a fast path), but a ``kind: *List``
    with a list of items still expands, and with anything else stays one object."""
    from routecore._config.sources import read_source

    a, b, c = ({"kind": "Service", "metadata": {"name": n}} for n in "abc")
    listed = {"kind": "List", "items": [b, None, c]}
    odd = {"kind": "ServiceList", "items": "not a list"}
    raws = read_source([a, listed, odd])
    assert [r.obj for r in raws] == [a, b, c, odd]
    assert all(r.origin is None and r.problems == () for r in raws)
