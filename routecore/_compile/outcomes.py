"""The outcomes of a table, stored flat: what ``TableSpec.outcomes`` is.

An outcome is (first choice, cumulative weights): its choices are ``choices[first:first + n]``
for the n cumulative weights. A build makes one per rule and listener, by the ten thousand, and
the tables keep them; stored as one (first, weights) tuple each, an outcome cost a 2-tuple and an
int object (~90 bytes). Here the firsts are one array of machine ints and the weights one list
of tuples, shared between equal ones (most are ``(1,)``): 16 bytes an outcome.

Invariants: an ``Outcomes`` only grows (``append``); ``outcomes[i]`` is the pair
``(first, weights)``, made when asked (the pure twin asks once per decision, the native twin's
build once per outcome); equal stores compare equal whatever their tuples' identity.
"""
from __future__ import annotations

from array import array
from typing import Iterator, List, Tuple


class Outcomes:
    __slots__ = ("firsts", "weights")

    def __init__(self, firsts: "array[int] | None" = None, weights: "List[tuple] | None" = None):
        self.firsts = array("q") if firsts is None else firsts  # first choice of each outcome
        self.weights: List[Tuple[int, ...]] = [] if weights is None else weights  # cumulative

    def append(self, first: int, weights: Tuple[int, ...]) -> int:
        """Add an outcome; its index."""
        self.firsts.append(first)
        self.weights.append(weights)
        return len(self.weights) - 1

    def copy(self) -> "Outcomes":
        return Outcomes(array("q", self.firsts), list(self.weights))

    def __len__(self) -> int:
        return len(self.weights)

    def __getitem__(self, i: int) -> Tuple[int, Tuple[int, ...]]:
        return self.firsts[i], self.weights[i]

    def __iter__(self) -> Iterator[Tuple[int, Tuple[int, ...]]]:
        return zip(self.firsts, self.weights)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Outcomes):
            return NotImplemented
        return self.firsts == other.firsts and self.weights == other.weights

    def __hash__(self) -> int:  # (a TableSpec's, which never grows, may be hashed)
        return hash((self.firsts.tobytes(), tuple(self.weights)))

    def __repr__(self) -> str:
        return f"Outcomes({list(self)!r})"
