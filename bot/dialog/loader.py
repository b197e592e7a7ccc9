"""Load dialog scripts from YAML, remembering where every key stands so errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from bot.dialog.model import Common, Script

COMMON_FILE = "_common.yml"
MAX_SCRIPT_BYTES = 512 * 1024  # the largest shipped script is ~30 KB
MAX_YAML_NODES = 200_000  # nodes with every alias expanded: a "billion laughs" file has ~10^9

Location = tuple[Path, int]
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ScriptError:
    """A problem in a script, located at a file and line."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ScriptErrors(Exception):
    """One or more problems found while loading or checking scripts."""

    def __init__(self, errors: list[ScriptError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class Source:
    """Parsed YAML plus the location of every key and list item in it."""

    data: dict[str, Any]
    locations: dict[YamlPath, Location] = field(default_factory=dict)
    file: Path = Path()

    def locate(self, path: YamlPath) -> Location:
        """The location of the deepest known prefix of `path` (the file's line 1 if none)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.locations:
                return self.locations[path[:end]]
        return (self.file, 1)

    def error(self, path: YamlPath, message: str) -> ScriptError:
        file, line = self.locate(path)
        return ScriptError(file, line, message)


def read_source(path: Path, text: str | None = None) -> Source:
    """Parse one YAML file (or `text` given for it); a syntax error becomes a ScriptErrors naming the line.

    Files over MAX_SCRIPT_BYTES and aliases that expand past MAX_YAML_NODES ("billion laughs") are refused."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        if len(text.encode("utf-8", errors="replace")) > MAX_SCRIPT_BYTES:
            raise ScriptErrors([ScriptError(path, 1, f"the script is over {MAX_SCRIPT_BYTES // 1024} KB")])
        yaml = YAML(typ="rt")
        _check_expansion(path, yaml.compose(text))
        node = yaml.load(text)
    except YAMLError as exc:
        raise ScriptErrors([_yaml_error(path, exc)]) from exc
    except UnicodeDecodeError as exc:
        raise ScriptErrors([ScriptError(path, 1, "the file is not UTF-8 text")]) from exc
    if not isinstance(node, CommentedMap):
        raise ScriptErrors([ScriptError(path, 1, "expected a mapping at the top (id, title, steps, ...)")])
    source = Source(data={}, file=path)
    source.data = _plain(node, (), source)
    return source


def _check_expansion(path: Path, root: Node | None) -> None:
    """Refuse aliases that refer to themselves or expand the document past MAX_YAML_NODES, before anything
    walks the expanded structure. Each node's expanded size is counted once (memoised), so this is linear in
    the text."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            line = node.start_mark.line + 1 if node.start_mark else 1
            raise ScriptErrors([ScriptError(path, line, "an alias refers to the node that contains it")])
        open_nodes.add(key)
        if isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(key)
        if total > MAX_YAML_NODES:
            raise ScriptErrors(
                [ScriptError(path, 1, f"aliases expand the script past {MAX_YAML_NODES:,} values: refused")]
            )
        sizes[key] = total
        return total

    if root is not None:
        size(root)


def _yaml_error(path: Path, exc: YAMLError) -> ScriptError:
    """Point at the construct that is broken (an unclosed `{` opens it), saying where it was noticed."""
    problem_mark, context_mark = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = context_mark or problem_mark
    line = mark.line + 1 if mark else 1
    if context_mark and problem_mark and problem_mark.line != context_mark.line:
        problem += f" (noticed at line {problem_mark.line + 1}, {exc.context})"
    return ScriptError(path, line, f"bad YAML: {problem}")


def _plain(node: Any, path: YamlPath, source: Source) -> Any:
    """Convert ruamel nodes to plain Python, recording each key's and item's line."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            source.locations[(*path, key)] = (source.file, node.lc.key(key)[0] + 1)
            out[key] = _plain(value, (*path, key), source)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            source.locations[(*path, index)] = (source.file, node.lc.item(index)[0] + 1)
            items.append(_plain(value, (*path, index), source))
        return items
    if isinstance(node, str):
        return str(node)
    return node


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        both_maps = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merge(base[key], value) if both_maps else value
    return merged


def _validation_errors(exc: ValidationError, source: Source) -> list[ScriptError]:
    errors = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or "function" in p)))
        where = ".".join(str(p) for p in loc) or "top level"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"'{loc[-1]}' is required here"
            where = ".".join(str(p) for p in loc[:-1]) or "top level"
        elif err["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            where = ".".join(str(p) for p in loc[:-1]) or "top level"
        elif err["type"] == "literal_error" and "'ru'" in message:
            message = f"language must be ru or en, not {err['input']!r}"
        errors.append(source.error(loc, f"{where}: {message}"))
    return errors


def load_common(path: Path) -> tuple[Common, Source]:
    source = read_source(path)
    try:
        return Common.model_validate(source.data), source
    except ValidationError as exc:
        raise ScriptErrors(_validation_errors(exc, source)) from exc


def load_script(path: Path, common: Source | None = None, text: str | None = None) -> tuple[Script, Source]:
    """Parse and validate one script (the file at `path`, or `text` given for it), merged with the common
    handlers and steps.

    The script's own steps, handlers and defaults win over the common ones of the same name. The returned
    Source knows the locations of both files' keys.
    """
    source = read_source(path, text)
    if common is not None:
        merged = dict(source.data)
        for key in ("steps", "handlers"):
            merged[key] = {**common.data.get(key, {}), **source.data.get(key, {})}
        merged["defaults"] = _merge(common.data.get("defaults", {}), source.data.get("defaults", {}))
        locations = {**common.locations, **source.locations}
        source = Source(data=merged, locations=locations, file=path)
    try:
        return Script.model_validate(source.data), source
    except ValidationError as exc:
        raise ScriptErrors(_validation_errors(exc, source)) from exc
