"""User regexes: RE2 syntax, whole-value match, linear time, bounded program size.

Invariants: every regex routecore evaluates went through ``compile_regex`` (so it is an RE2
program no larger than MAX_PROGRAM_MEM), and is evaluated with ``fullmatch`` only.
"""
from __future__ import annotations

from typing import Optional

import re2

# RE2 refuses to build programs that need more memory than this; such a regex is a config error
# rather than a silently dropped route (envoyproxy/gateway#2543).
MAX_PROGRAM_MEM = 8 << 20

_OPTIONS = re2.Options()
_OPTIONS.max_mem = MAX_PROGRAM_MEM
_OPTIONS.log_errors = False


class Regex:
    """A compiled user regex. ``fullmatch`` never raises: a value that is not text (a str with
    lone surrogates, which RE2 cannot take as UTF-8) matches nothing."""

    __slots__ = ("pattern", "_rx")

    def __init__(self, pattern: str, rx):
        self.pattern = pattern
        self._rx = rx

    def fullmatch(self, value: str):
        try:
            return self._rx.fullmatch(value)
        except UnicodeEncodeError:
            return None

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def compile_regex(pattern: str) -> Regex:
    """Compile ``pattern`` as RE2; ValueError with RE2's complaint when it is not valid."""
    try:
        return Regex(pattern, re2.compile(pattern, options=_OPTIONS))
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        if isinstance(why, bytes):
            why = why.decode("utf-8", "replace")
        raise ValueError(f"invalid RE2 regular expression {pattern!r}: {why}") from None
    except TypeError as exc:  # pragma: no cover - defensive: RE2 rejects odd inputs this way
        raise ValueError(f"invalid RE2 regular expression {pattern!r}: {exc}") from None


_META = set(".^$|?*+()[]{}\\")
_QUANT = set("?*{")
_ESCAPED_LITERALS = set(".^$|?*+()[]{}\\/-")


def required_literal(pattern: str) -> Optional[str]:
    """A substring that every string matching ``pattern`` must contain, or None.

    Conservative: alternations at the top level, flags and anything hard to reason about give
    None (the regex is then always a candidate). Groups and classes end a literal run.
    """
    # flags ((?i), (?s)...) may change how the rest matches; (?:...) and (?P<n>...) are groups
    if not pattern or pattern.replace("(?:", "(").replace("(?P<", "(").find("(?") != -1:
        return None
    runs, cur, i, depth, n = [], [], 0, 0, len(pattern)

    def close():
        if cur:
            runs.append("".join(cur))
            cur.clear()

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            nxt = pattern[i + 1]
            if nxt in _ESCAPED_LITERALS:
                ch, width = nxt, 2
            else:  # \d, \x41, \141, \p{Greek}...: their payload is no literal; give up
                return None
        elif c == "(":
            close()
            depth += 1
            i += 1
            if pattern.startswith("?:", i):
                i += 2
            elif pattern.startswith("?P<", i):
                i = pattern.find(">", i) + 1 or n
            continue
        elif c == ")":
            close()
            depth -= 1
            i += 1
            continue
        elif c == "[":
            close()
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        elif c == "{":  # a repetition count: its digits are not literals
            close()
            end = pattern.find("}", i)
            if end == -1:
                return None
            i = end + 1
            continue
        elif c == "|":
            if depth == 0:
                return None
            close()
            i += 1
            continue
        elif c in _META:
            close()
            i += 1
            continue
        else:
            ch, width = c, 1
        if depth:
            i += width
            continue
        following = pattern[i + width] if i + width < n else ""
        if following in _QUANT:
            close()  # this char is optional (or repeated from zero): not required
        else:
            cur.append(ch)
            if following == "+":
                close()
        i += width
    close()
    return max(runs, key=len) if runs else None
