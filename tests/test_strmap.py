"""The native hash map (_match_c._StrMap) found keys by hash, length, tag and characters: the
characters are compared with overlapping word loads (rc_same_bytes) at every length around the
word sizes, so a key differing from a stored one in any single byte, including the last, must
miss even when the probe carries the stored key's hash (a forced collision)."""
import pytest

from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")

LENGTHS = list(range(0, 41)) + [63, 64, 65, 100]


def _key(n, salt=0):
    return "".join(chr(97 + (7 * i + salt) % 26) for i in range(n))


def _other(key, pos):
    """key with the character at pos changed."""
    return key[:pos] + ("z" if key[pos] != "z" else "y") + key[pos + 1:]


@pytest.mark.parametrize("reverse", [False, True])
def test_each_length_is_found_and_a_one_byte_change_misses_even_with_the_same_hash(reverse):
    from routecore._match_c import _StrMap
    keys = [_key(n) for n in LENGTHS]
    m = _StrMap([(k, 0, i, i + 1) for i, k in enumerate(keys)], reverse)
    for i, k in enumerate(keys):
        assert m.find(k, 0, reverse) == (i, i + 1)
        assert m.find(k, 1, reverse) is None  # another tag
        for pos in range(len(k)):
            other = _other(k, pos)
            assert m.find(other, 0, reverse) is None
            # the probe carries k's hash: slot hash, length and tag agree, the bytes do not
            assert m.find(other, 0, reverse, like=k) is None, (k, pos)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_shorter_or_longer_string_carrying_a_keys_hash_misses(reverse):
    """Length and tag are compared as one word (rc_int_pair_at): a probe with a stored key's
    hash and tag but another length must miss, even when its characters are the key's own
    first (or last) ones, so that comparing only the common bytes would match."""
    from routecore._match_c import _StrMap
    keys = [_key(n) for n in LENGTHS if n]
    m = _StrMap([(k, 3, i, 0) for i, k in enumerate(keys)], reverse)
    for k in keys:
        assert m.find(k, 3, reverse) is not None
        for part in (k[:-1], k[1:]):
            assert m.find(part, 3, reverse, like=k) is None, (k, part)
        assert m.find(k + "a", 3, reverse, like=k) is None, k


def test_a_crowded_map_finds_every_key_and_misses_the_others():
    from routecore._match_c import _StrMap
    keys = [f"/app{i}/api" for i in range(5000)]
    m = _StrMap([(k, i % 7, i, 1) for i, k in enumerate(keys)])
    for i, k in enumerate(keys):
        assert m.find(k, i % 7) == (i, 1)
        assert m.find(k, (i + 1) % 7) is None
        assert m.find(k + "x", i % 7) is None
        assert m.find(k[:-1] + "j", i % 7) is None


def test_wide_keys_compare_by_characters():
    from routecore._match_c import _StrMap
    keys = ["/caf\u00e9", "/\u65e5\u672c", "/\U0001f600x", "/plain"]
    m = _StrMap([(k, 0, i, 0) for i, k in enumerate(keys)])
    for i, k in enumerate(keys):
        assert m.find(k) == (i, 0)
    assert m.find("/\u65e5\u672d", like="/\u65e5\u672c") is None
    assert m.find("/plaim", like="/plain") is None


def test_a_narrow_key_is_found_inside_a_wide_string():
    """A wide Host's "." suffix can be all one-byte characters: it finds the narrow key."""
    from routecore._match_c import _StrMap
    m = _StrMap([(".example.com", 0, 5, 0), ("\u00e9.example.com", 0, 6, 0)], True)
    assert m.find("\u65e5.example.com", reverse=True, start=1) == (5, 0)
    assert m.find("\u65e5.example.con", reverse=True, start=1) is None
    assert m.find("\u00e9.example.com", reverse=True) == (6, 0)
    assert m.find("x\u00e9.example.com", reverse=True, start=1) == (6, 0)
