"""Safe YAML loading that remembers where every node came from.

:func:`load_yaml` turns strategy text into plain Python data (``dict``/``list``/``str``/
``int``/``float``/``bool``/``None``) plus a map from field path to 1-based ``(line, column)``.
It never constructs arbitrary objects and refuses, with a :class:`~vibe_quant.dsl.errors.Diagnostic`
instead of a traceback:

* input larger than :data:`MAX_BYTES` (1 MB) or not UTF-8;
* YAML syntax errors (reported at PyYAML's problem mark) and multi-document streams;
* any tag other than the plain YAML ones (``!!python/...``, ``!!binary``, ``!!set``, ``!foo``...);
* merge keys (``<<``), duplicate keys and non-string keys;
* more than :data:`MAX_ALIASES` aliases, more than :data:`MAX_NODES` nodes after alias expansion
  ("billion laughs"), or nesting deeper than :data:`MAX_DEPTH`;
* a top level that is not a mapping.

YAML 1.1 sexagesimal numbers (``13:30`` -> 810) are kept as the text ``"13:30"`` and timestamps
as their text, so session times can be written unquoted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vibe_quant.dsl.errors import Diagnostic, PathT, format_path

MAX_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 50_000
MAX_DEPTH = 40

_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    _STD + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


@dataclass
class LoadedYaml:
    """Result of :func:`load_yaml`.

    Attributes:
        data: the top-level mapping (``None`` when loading failed).
        positions: field path -> 1-based ``(line, column)`` of the value node.
        key_positions: field path -> 1-based ``(line, column)`` of the mapping key naming it.
        styles: field path -> scalar style (``None`` plain, ``"'"``, ``'"'``, ``"|"``, ``">"``)
            for string scalars, used to map a column inside a condition string back to the file.
        diagnostics: load errors (empty on success).
        file: display name used in diagnostics.
    """

    data: dict[str, Any] | None
    positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    styles: dict[PathT, str | None] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    file: str = "<string>"

    def position(self, path: PathT, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (its key when ``key``), else of its nearest known ancestor."""
        p = tuple(path)
        while True:
            if key and p in self.key_positions:
                return self.key_positions[p]
            if p in self.positions:
                return self.positions[p]
            if not p:
                return self.positions.get((), (0, 0))
            p = p[:-1]


class _Refused(Exception):
    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting depth while composing."""

    def __init__(self, stream: str, file: str):
        super().__init__(stream)
        self._file = file
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _Refused(
                    Diagnostic(
                        f"too many YAML aliases (more than {MAX_ALIASES}); "
                        "anchor/alias expansion is limited",
                        line=mark.line + 1,
                        column=mark.column + 1,
                        code="yaml-alias-limit",
                        file=self._file,
                    )
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    Diagnostic(
                        f"YAML nesting deeper than {MAX_DEPTH} levels",
                        line=mark.line + 1,
                        column=mark.column + 1,
                        code="yaml-depth-limit",
                        file=self._file,
                    )
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


class _Builder:
    def __init__(self, loader: _GuardedLoader, out: LoadedYaml):
        self.loader = loader
        self.out = out
        self.nodes = 0

    def refuse(self, node: Node, message: str, path: PathT, code: str) -> _Refused:
        shown = format_path(path[:6]) + ("..." if len(path) > 6 else "")
        return _Refused(
            Diagnostic(
                message,
                path=shown,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                code=code,
                file=self.out.file,
            )
        )

    def build(self, node: Node, path: PathT, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.refuse(
                node,
                f"document expands to more than {MAX_NODES} YAML nodes "
                "(anchor/alias bomb?); refused",
                path,
                "yaml-node-limit",
            )
        if depth > MAX_DEPTH:
            raise self.refuse(node, f"YAML nesting deeper than {MAX_DEPTH} levels", path,
                              "yaml-depth-limit")
        if node.tag not in _ALLOWED_TAGS:
            raise self.refuse(
                node,
                f"YAML tag '{_tag_name(node.tag)}' is not allowed; only plain mappings, "
                "lists, strings, numbers, booleans and null are accepted",
                path,
                "yaml-tag",
            )
        self.out.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _STD + "merge":
                    raise self.refuse(key_node, "YAML merge keys ('<<') are not supported", path,
                                      "yaml-merge")
                if not isinstance(key_node, ScalarNode) or key_node.tag not in _ALLOWED_TAGS:
                    raise self.refuse(key_node, "mapping keys must be plain strings", path,
                                      "yaml-key")
                key = self.scalar(key_node, path)
                if not isinstance(key, str):
                    raise self.refuse(
                        key_node,
                        f"mapping key {key_node.value!r} is read as {type(key).__name__}; "
                        "keys must be strings (quote it)",
                        path,
                        "yaml-key",
                    )
                if key in result:
                    raise self.refuse(key_node, f"duplicate key '{key}'", path + (key,),
                                      "yaml-duplicate-key")
                self.out.key_positions[path + (key,)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        raise self.refuse(node, "unsupported YAML node", path, "yaml-node")  # pragma: no cover

    def scalar(self, node: ScalarNode, path: PathT) -> Any:
        tag = node.tag
        text = node.value
        if tag == _STD + "str":
            single = node.start_mark.line == node.end_mark.line
            self.out.styles[path] = node.style if single else "multiline"
            return text
        if tag == _STD + "null":
            return None
        if tag == _STD + "bool":
            return self.loader.construct_yaml_bool(node)
        if tag in (_STD + "int", _STD + "float") and ":" in text:
            self.out.styles[path] = node.style
            return text  # YAML 1.1 base-60 number, e.g. 13:30 -> keep the text
        if tag == _STD + "int":
            return self.loader.construct_yaml_int(node)
        if tag == _STD + "float":
            return self.loader.construct_yaml_float(node)
        if tag == _STD + "timestamp":
            self.out.styles[path] = node.style
            return text
        raise self.refuse(node, f"YAML tag '{_tag_name(tag)}' is not allowed", path, "yaml-tag")


def _offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def load_yaml(source: str | bytes, file: str = "<string>") -> LoadedYaml:
    """Parse strategy YAML safely; never raises on bad input.

    Args:
        source: the file content (``bytes`` are decoded as UTF-8).
        file: display name for diagnostics.

    Returns:
        :class:`LoadedYaml`; on failure ``data`` is ``None`` and ``diagnostics`` has one error.
    """
    out = LoadedYaml(data=None, file=file)

    def fail(message: str, line: int = 0, column: int = 0, code: str = "yaml") -> LoadedYaml:
        out.diagnostics.append(
            Diagnostic(message, line=line, column=column, code=code, file=file)
        )
        return out

    size = len(source) if isinstance(source, bytes) else len(source.encode("utf-8", "replace"))
    if size > MAX_BYTES:
        return fail(
            f"file is {size} bytes; strategy files are limited to {MAX_BYTES} bytes (1 MB)",
            code="too-large",
        )
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            return fail(f"file is not UTF-8 text (bad byte at offset {exc.start})",
                        code="not-text")
    else:
        text = source
    if "\x00" in text:
        line, col = _offset_to_line_col(text, text.index("\x00"))
        return fail("file contains NUL bytes; not a text file", line, col, code="not-text")

    try:
        loader = _GuardedLoader(text, file)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is None:
            return fail("the file is empty; expected a mapping with 'name', 'timeframe', ...",
                        1, 1, code="not-mapping")
        if not isinstance(node, MappingNode):
            kind = "a list" if isinstance(node, SequenceNode) else "a single value"
            return fail(
                f"top level is {kind}; a strategy must be a mapping "
                "(name: ..., timeframe: ..., indicators: ...)",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                code="not-mapping",
            )
        out.data = _Builder(loader, out).build(node, ())
        return out
    except _Refused as exc:
        out.data = None
        out.diagnostics.append(exc.diag)
        return out
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return fail(f"YAML syntax error: {problem}", line, col, code="yaml-syntax")
    except yaml.reader.ReaderError as exc:
        line, col = _offset_to_line_col(text, min(exc.position, len(text)))
        ch = exc.character
        shown = f"U+{ch:04X}" if isinstance(ch, int) else repr(ch)
        return fail(f"file contains a character YAML does not allow ({shown})",
                    line, col, code="not-text")
    except yaml.YAMLError as exc:  # pragma: no cover - other PyYAML errors
        return fail(f"YAML error: {exc}", code="yaml")
    except RecursionError:  # pragma: no cover - guarded by MAX_DEPTH
        return fail(f"YAML nesting too deep (limit {MAX_DEPTH})", code="yaml-depth-limit")
