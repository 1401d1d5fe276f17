"""read_source / load: every accepted source form, and source-level errors."""
import json
import pathlib

import pytest
import yaml

from routecore._errors import ConfigError
from routecore._load import load
from routecore._source import RawObject, read_source

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
    assert "line" in issue.message and "column" in issue.message


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
