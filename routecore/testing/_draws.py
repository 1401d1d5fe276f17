"""Small cached strategies shared by the strategy modules (building a strategy per draw costs more
than using one).

Invariant: one strategy object per distinct argument tuple, kept for the life of the process.
"""
from __future__ import annotations

import copy

from hypothesis import strategies as st


_CACHE: dict = {}
BOOLS = st.booleans()


def pick_from(values):
    values = tuple(values)
    key = ("pick", values)
    if key not in _CACHE:
        _CACHE[key] = st.sampled_from(values)
    return _CACHE[key]


def ints(lo, hi):
    key = ("ints", lo, hi)
    if key not in _CACHE:
        _CACHE[key] = st.integers(lo, hi)
    return _CACHE[key]


def unique(values, min_size=0, max_size=2, key=None):
    values = tuple(values)
    ck = ("lists", values, min_size, max_size, key)
    if ck not in _CACHE:
        _CACHE[ck] = st.lists(st.sampled_from(values), min_size=min_size, max_size=max_size,
                              unique_by=key) if key else st.lists(
            st.sampled_from(values), min_size=min_size, max_size=max_size, unique=True)
    return _CACHE[ck]


def one_of_values(draw, values):
    """A fresh copy of one of these (unhashable) values."""
    return copy.deepcopy(values[draw(ints(0, len(values) - 1))])
