"""Safe YAML with line marks: plain data and the file and line of every key."""
from __future__ import annotations

import re
from typing import Any

import yaml

from rfemu.scenario.errors import Positions, Problem, ScenarioError, _dotted

__all__ = ["PositionLoader", "read_yaml"]


_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:timestamp",
}


class PositionLoader(yaml.SafeLoader):
    """A SafeLoader that composes nodes only; :func:`_to_data` builds data while recording marks.

    Construction of anything but standard scalars, sequences and mappings is refused with the
    line of the offending node (no ``!!python/...``, no custom tags, no merge keys).

    Numbers in exponent notation without a decimal point (``1e-6``), which YAML 1.1 reads as
    strings, are read as numbers, as the README promises for plain numbers.
    """

    def fetch_flow_collection_start(self, TokenClass):
        # PyYAML's scanner slows down with the square of the flow level (a 5,000-deep `[[[...`
        # took 13 s before the composer's recursion stopped it): refused as it opens
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeepToRead()
        super().fetch_flow_collection_start(TokenClass)


PositionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"))

#: deepest nesting of mappings and lists a scenario may have (the schema needs 6)
MAX_DEPTH = 50
#: most values a scenario may expand to (aliases repeat their anchor's values)
MAX_VALUES = 100_000


class _TooDeepToRead(Exception):
    """Flow collections (``[`` / ``{``) open deeper than :data:`MAX_DEPTH`, while reading."""


class _TooLarge(Exception):
    """The document nests too deep or expands to too many values (aliases of aliases)."""

    def __init__(self, line, message):
        super().__init__(message)
        self.line, self.message = line, message


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _to_data(node, loader: PositionLoader, file: str, path: tuple, positions: Positions,
             problems: list[Problem], count: list = None):
    line = node.start_mark.line + 1
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise _TooLarge(line, f"the document expands to more than {MAX_VALUES} values (aliases "
                              "that repeat aliases?) (expected a scenario of plain keys)")
    if len(path) > MAX_DEPTH:
        raise _TooLarge(line, f"nested more than {MAX_DEPTH} levels deep (expected the sections "
                              "of a scenario, a few levels)")
    positions.where.setdefault(path, (file, line))
    if node.tag not in _STANDARD_TAGS:
        problems.append(Problem(file, line, _dotted(path),
                                f"the tag {_short_tag(node.tag)} is not allowed (a scenario is plain "
                                "data: numbers, strings, lists and mappings; nothing in it is executed)"))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(file, key_line, _dotted(path),
                                        "YAML merge keys (<<) are not supported (use `extends:` "
                                        "to take defaults from another scenario)"))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _STANDARD_TAGS:
                problems.append(Problem(file, key_line, _dotted(path),
                                        "a key must be a plain name or number"))
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = str(key_node.value)
            key = str(key)
            if key in out:
                first = positions.where.get(path + (key,), (file, "?"))[1]
                problems.append(Problem(file, key_line, _dotted(path + (key,)),
                                        f"duplicate key (first given on line {first})"))
                continue
            positions.where[path + (key,)] = (file, key_line)
            out[key] = _to_data(value_node, loader, file, path + (key,), positions, problems,
                                count)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, loader, file, path + (i,), positions, problems, count)
                for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)
    return loader.construct_object(node)


def _reader_line(loader) -> int:
    """The line (1-based) the reader had reached, 1 when unknown."""
    try:
        return loader.get_mark().line + 1
    except Exception:        # a loader that failed while being built: no position yet
        return 1


def read_yaml(text: str, file: str = "<scenario>") -> tuple[Any, Positions]:
    """Parse YAML ``text`` safely into plain data and the positions of its keys.

    Raises
    ------
    ScenarioError
        On a syntax error, a refused tag, a duplicate key, a control character, nesting deeper
        than :data:`MAX_DEPTH` or more than :data:`MAX_VALUES` values (an alias bomb).
    """
    positions = Positions(default_file=file)
    loader = None
    try:
        loader = PositionLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "invalid YAML"
        if exc.context:
            started = ""
            if exc.context_mark is not None and exc.context_mark.line != (mark.line if mark else -1):
                started = f" (started on line {exc.context_mark.line + 1})"
            what = f"{exc.context}{started}, {what}"
        raise ScenarioError([Problem(file, line, "", f"YAML syntax error: {what} "
                                                     "(expected valid YAML: `key: value` lines, "
                                                     "consistent indentation)")]) from None
    except yaml.reader.ReaderError as exc:      # a control character such as NUL
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ScenarioError([Problem(file, line, "", f"character #x{exc.character:04x} is not "
                                                     "allowed (expected printable text)")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, None, "", "YAML error: " + " ".join(str(exc).split()))]) \
            from None
    except (RecursionError, _TooDeepToRead):
        line = _reader_line(loader)
        raise ScenarioError([Problem(file, line, "", f"nested too deep to read (expected the "
                                                     f"sections of a scenario, at most {MAX_DEPTH} "
                                                     "levels)")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return {}, positions
    problems: list[Problem] = []
    try:
        data = _to_data(node, loader, file, (), positions, problems)
    except _TooLarge as exc:
        problems.append(Problem(file, exc.line, "", exc.message))
        data = None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problems.append(Problem(file, mark.line + 1 if mark else None, "",
                                f"cannot read value: {exc.problem}"))
        data = None
    if problems:
        raise ScenarioError(problems)
    return data, positions


