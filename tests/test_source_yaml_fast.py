"""sources._Loader's construction of alias-free YAML (written out for string-keyed maps, sequences and
strings, the rest left to PyYAML's constructor) and its cached scalar tags give what PyYAML's
SafeConstructor gives: the same data, of the same types, and the same duplicate-key problems."""
import datetime

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from routecore._config import sources

SNIPPETS = [
    "a: 1\na: 2\n",  # a duplicate key
    "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",  # anchors: the constructor's
    "m:\n  <<: {x: 1}\n  y: [1, 2]\n",  # a merge key without an alias
    "1: one\ntrue: yes\nnull: ~\n",  # keys that are not strings
    "v: !!str 1\nb: !!binary aGk=\ns: !!set {a, b}\nd: 2024-01-02\nt: 2024-01-02T03:04:05Z\n",
    "o: on\nf: 0x1f\ng: 1_000\nh: .inf\ni: -.5e3\nj: 0o17\nk: 017\nl: 'on'\nm: \"1\"\n",
    "[a, {b: [c, {d: e}]}, [], {}]\n",
    "--- a\n--- [1, x]\n---\n...\n",
    "? [a, b]\n: c\n",  # an unhashable key: the constructor's error
]

_SCALARS = st.one_of(st.sampled_from(["yes", "No", "on", "OFF", "~", "null", "1", "-2", "0x10", "1.5", "1e3",
                                      ".nan", "2024-01-01", "12:30", "a b", "", "/x", "*.a.b", "true"]),
                     st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none(),
                     st.floats(allow_nan=False, width=16))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(["a", "b", "on", "1", "<<"]), st.integers(0, 3), st.booleans()),
                    inner, max_size=4)), max_leaves=12)

# (drawing whole routes is slow on a busy machine: not a failure of the code under test)
_SLOW_DRAWS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class _Generic(sources._Loader):
    """The same loader, every node to PyYAML's constructor."""

    def _plain(self, node):
        return self.construct_document(node)

    def resolve(self, kind, value, implicit):
        return yaml.resolver.Resolver.resolve(self, kind, value, implicit)


def _documents(loader_class, text):
    loader = loader_class.of(text)
    try:
        return list(loader.documents())
    except Exception as exc:  # (compared, as the outcome of the text)
        return (type(exc), str(exc))
    finally:
        loader.dispose()


def _typed(value):
    """``value`` with the type of every part spelled out (True == 1, 1 == 1.0 otherwise)."""
    if isinstance(value, dict):
        return ("dict", sorted(((_typed(k), _typed(v)) for k, v in value.items()), key=repr))
    if isinstance(value, (list, tuple, set, frozenset)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def _agree(text):
    fast, generic = _documents(sources._Loader, text), _documents(_Generic, text)
    if isinstance(generic, tuple):
        assert fast == generic
    else:
        assert [(_typed(d), p) for d, p in fast] == [(_typed(d), p) for d, p in generic]
        # the stock loader (no duplicate-key report) reads the same data
        assert [_typed(d) for d, _ in fast] == [_typed(d) for d in yaml.load_all(text, Loader=yaml.SafeLoader)]


def test_snippets():
    for text in SNIPPETS:
        _agree(text)


@_SLOW_DRAWS
@given(st.lists(_VALUES, min_size=1, max_size=3), st.booleans())
def test_dumped_values(values, flow):
    _agree(yaml.safe_dump_all(values, default_flow_style=flow))


@_SLOW_DRAWS
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "on", "1", "c d"]), _SCALARS), max_size=6))
def test_duplicate_keys(pairs):
    text = "".join(f"{k}: {yaml.safe_dump(v, default_flow_style=True).splitlines()[0]}\n" for k, v in pairs)
    _agree(text or "{}\n")


def test_timestamps_are_constructed():
    (data, _), = _documents(sources._Loader, "d: 2024-01-02\n")
    assert data == {"d": datetime.date(2024, 1, 2)}
