"""Configuration errors: one ConfigIssue per problem, all raised at once in one ConfigError.

Invariant: an issue read from a file or text has ``file``/``line``/``column`` (1-based) of the
deepest node on its field path that exists in the source (``routecore._config.sources`` finds them);
``str(issue)`` is then ``file:line:column: Kind ns/name: path: message``, else the location is left
out (objects given as dicts have none). ``str(issue)`` is one line of printable text: control
characters that came from the configuration (an unknown field's name, a value quoted in a
message) are shown escaped (``\\x1b``, ``\\n``), so an error never moves a terminal's cursor
or forges a second line.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from attrs import frozen

# the ``file`` of an issue read from YAML/JSON text given directly rather than from a file
TEXT = "<string>"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with its control characters escaped as Python writes them (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


@frozen
class ConfigIssue:
    kind: str
    namespace: Optional[str]
    name: Optional[str]
    path: str  # e.g. "spec.rules[0].matches[1].path.value"; "" for the object as a whole
    message: str
    # where the object came from (a file path and document number), when known
    origin: Optional[str] = None
    # where the problem is: the file (TEXT for text), 1-based line and column, when known
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None

    @property
    def object(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        if self.name:
            return f"{self.kind} {self.name}"
        return self.kind or "object"

    @property
    def location(self) -> Optional[str]:
        """``file:line:column``, or None when the source has no positions."""
        if self.line is None:
            return None
        return f"{self.file or TEXT}:{self.line}:{self.column}"

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        location = self.location
        if location is not None:
            return printable(f"{location}: {self.object}: {where}{self.message}")
        origin = f" ({self.origin})" if self.origin else ""
        return printable(f"{self.object}{origin}: {where}{self.message}")


class ConfigError(ValueError):
    """Every problem found in a configuration; nothing of it was loaded."""

    def __init__(self, errors: Iterable[ConfigIssue]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
