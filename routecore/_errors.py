"""Configuration errors: one ConfigIssue per problem, all raised at once in one ConfigError."""
from __future__ import annotations

from typing import Iterable, Optional

from attrs import frozen


@frozen
class ConfigIssue:
    kind: str
    namespace: Optional[str]
    name: Optional[str]
    path: str  # e.g. "spec.rules[0].matches[1].path.value"; "" for the object as a whole
    message: str
    # where the object came from (a file path and document number), when known
    origin: Optional[str] = None

    @property
    def object(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        if self.name:
            return f"{self.kind} {self.name}"
        return self.kind or "object"

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        origin = f" ({self.origin})" if self.origin else ""
        return f"{self.object}{origin}: {where}{self.message}"


class ConfigError(ValueError):
    """Every problem found in a configuration; nothing of it was loaded."""

    def __init__(self, errors: Iterable[ConfigIssue]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
