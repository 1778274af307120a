"""Problems with a scenario, the exception that carries them, and where each key came from.

Every problem is one line ``FILE:LINE: key.path: what is wrong (what was expected)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["Problem", "ScenarioError", "Positions"]



@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, with where it is."""

    file: str
    line: Optional[int]
    path: str
    message: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` lists every reason, one per line of ``str``."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


# --------------------------------------------------------------------------------------------
# Positions: where each key came from
# --------------------------------------------------------------------------------------------

@dataclass
class Positions:
    """File and line (1-based) of each key path, as tuples of str keys and int indices."""

    where: dict[tuple, tuple[str, int]] = field(default_factory=dict)
    default_file: str = "<scenario>"
    #: the last line of ``default_file`` (where a missing top-level section is cited)
    end_line: Optional[int] = None

    def locate(self, path: tuple) -> tuple[str, Optional[int]]:
        """The position of ``path`` or of its nearest recorded parent."""
        path = tuple(path)
        while True:
            if path in self.where:
                return self.where[path]
            if not path:
                return (self.default_file, None)
            path = path[:-1]

    def problem(self, path: tuple, message: str) -> Problem:
        file, line = self.locate(path)
        return Problem(file, line, _dotted(path), message)

    def drop_under(self, path: tuple) -> None:
        n = len(path)
        for key in [k for k in self.where if len(k) > n and k[:n] == path]:
            del self.where[key]


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)

