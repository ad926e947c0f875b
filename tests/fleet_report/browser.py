"""Rendering a page in headless Chromium (Debian's ``chromium``) and reading back its DOM and console.

``chromium --headless --dump-dom`` prints the DOM once the page has loaded and its scripts ran;
``--enable-logging=stderr`` writes every console message, uncaught errors included, to stderr as
``...:CONSOLE...] "<message>", source: <url> (<line>)``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

INSTALL_HINT = "apt-get install -y chromium (make test and .ci/run install it when missing)"
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def chromium() -> str:
    """The browser to run; fails (never skips) when there is none."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, f"headless Chromium is needed to render the fleet page: {INSTALL_HINT}"
    return found


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts + [c.text for c in self.children]).split())

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        """Descendants named ``tag`` whose attributes match (``data_x`` means ``data-x``)."""
        found = []
        for child in self.children:
            if child.tag == tag and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def one(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"<{tag} {attrs}>: {len(found)} found"
        return found[0]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text_parts.append(data)


@dataclass(frozen=True)
class Rendered:
    dom: Node
    console: list[str]


def render(page: Path, profile: Path, fragment: str = "") -> Rendered:
    run = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.resolve().as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"chromium exited {run.returncode}: {run.stderr[-2000:]}"
    builder = _Builder()
    builder.feed(run.stdout)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(builder.root, console)
