"""Reading a YAML file a person wrote (stack files, inventories, restore profiles): errors name the file.

A key given twice in one mapping is refused with both line numbers, where plain YAML would keep the last
one without a word. Plain PyYAML only, so the runtime commands and the offline plan share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class YamlFileError(ValueError):
    """A YAML file that cannot be read, is not YAML, or gives a key twice; the message names the file."""


class DuplicateKeyError(YamlFileError):
    """Valid YAML that gives one key twice in a mapping."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def __init__(self, stream: Any, shown: str) -> None:
        super().__init__(stream)
        self.shown = shown

    def check_duplicates(self, node: yaml.Node, path: tuple[str, ...], seen: set[int]) -> None:
        if id(node) in seen:  # an alias of a node already checked (or a recursive one)
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                line = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode):
                    first = lines.setdefault((key_node.tag, key_node.value), line)
                    if first != line:
                        dotted = ".".join((*path, name))
                        raise DuplicateKeyError(
                            f"{self.shown}: key '{dotted}' is given twice, on line {first} and line {line}; "
                            "YAML would silently keep only the last one: remove one of them"
                        )
                self.check_duplicates(value_node, (*path, name), seen)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.check_duplicates(item, (*path, str(index)), seen)


def load_yaml(path: Path) -> Any:
    """The YAML document in ``path``; every error names the file as given (folders included)."""
    shown = str(path)
    try:
        with path.open(encoding="utf-8") as stream:
            loader = _Loader(stream, shown)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None
                loader.check_duplicates(node, (), set())
                return loader.construct_document(node)  # type: ignore[no-untyped-call]
            finally:
                loader.dispose()  # type: ignore[no-untyped-call]
    except yaml.YAMLError as exc:
        # PyYAML's marks name the stream: the file as given, with line and column.
        raise YamlFileError(f"{shown} is not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise YamlFileError(f"{shown} cannot be read: {exc.strerror or exc}") from None
