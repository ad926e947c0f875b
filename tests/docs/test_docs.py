"""The documentation travels with the repository: links resolve, cited facts exist, no outside notes.

- No tracked file cites the team's research notes, which live outside the repository (a user's clone
  does not have them); AWS facts are cited from ``docs/aws-facts.md``.
- Every relative link in a tracked Markdown file points at a file that exists, and every anchor into a
  Markdown file names one of its headings (GitHub's slug rules).
- Every ``docs/aws-facts.md#<anchor>`` cited anywhere (code comments included) exists.
- Every fact in ``docs/aws-facts.md`` has a number in its section, a source and a confidence level.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACTS = "docs/aws-facts.md"

# Citations of the out-of-repository research notes, in the forms they took.
OUTSIDE_NOTES = re.compile(r"aws-backup-facts|\.\./shared/|\bfacts( file)? §")
# Files allowed to name those forms: this test, which spells them out.
ALLOWED_OUTSIDE_NOTES = frozenset({"tests/docs/test_docs.py"})
# When git is unavailable (an unpacked archive), these are the directories `.gitignore` leaves out.
_UNTRACKED_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "out"}
)

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")
_FACTS_CITATION = re.compile(r"docs/aws-facts\.md#([\w-]+)")
_FACT_ROW = re.compile(r"^\| (\d+)\.(\d+) \|(.*)\|\s*$")
_SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)
CONFIDENCE = ("documented", "inferred", "unverified")


def tracked_files(root: Path) -> list[str]:
    """Repository-relative paths of the tracked files (every file outside ignored directories without git)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True, timeout=30
        ).stdout
        return sorted(p for p in out.decode().split("\0") if p and (root / p).is_file())
    except (OSError, subprocess.SubprocessError):
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not _UNTRACKED_DIRS.intersection(p.relative_to(root).parts)
        )


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def outside_note_citations(root: Path, files: Iterable[str]) -> list[str]:
    problems = []
    for name in files:
        if name in ALLOWED_OUTSIDE_NOTES:
            continue
        text = _text(root / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_NOTES.search(line):
                problems.append(f"{name}:{number}: {line.strip()}")
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: rendered text, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images keep their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _prose(markdown: str) -> str:
    """The Markdown without code blocks and code spans, where links and headings are not rendered."""
    return _INLINE_CODE.sub("", _FENCE.sub("", markdown))


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in _HEADING.finditer(_FENCE.sub("", markdown)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found.update(_HTML_ANCHOR.findall(markdown))
    return found


def broken_links(root: Path, markdown_files: Iterable[str]) -> list[str]:
    problems = []
    cache: dict[Path, set[str]] = {}

    def anchors_of(path: Path) -> set[str]:
        if path not in cache:
            cache[path] = anchors(path.read_text(encoding="utf-8"))
        return cache[path]

    for name in markdown_files:
        source = root / name
        for target in _LINK.findall(_prose(source.read_text(encoding="utf-8"))):
            if _SCHEME.match(target):
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (source.parent / path_part).resolve() if path_part else source.resolve()
            if not resolved.is_relative_to(root.resolve()) or not resolved.exists():
                problems.append(f"{name}: link to {target}: no such file in the repository")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
                problems.append(f"{name}: link to {target}: {path_part or name} has no heading #{anchor}")
    return problems


def missing_fact_anchors(root: Path, files: Iterable[str]) -> list[str]:
    known = anchors((root / FACTS).read_text(encoding="utf-8"))
    problems = []
    for name in files:
        text = _text(root / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            problems += [
                f"{name}:{number}: {FACTS}#{anchor} is not a heading of {FACTS}"
                for anchor in _FACTS_CITATION.findall(line)
                if anchor not in known
            ]
    return problems


def malformed_facts(markdown: str) -> list[str]:
    """Fact rows outside their section, numbered twice, without a confidence level, or without a source
    (an unverified fact has none by definition)."""
    problems = []
    section = None
    numbers: set[str] = set()
    for line in markdown.splitlines():
        heading = _SECTION.match(line)
        if heading:
            section = heading.group(1)
            continue
        row = _FACT_ROW.match(line)
        if row is None:
            continue
        number = f"{row.group(1)}.{row.group(2)}"
        cells = [c.strip() for c in row.group(3).split("|")]
        if row.group(1) != section:
            problems.append(f"fact {number} is in section {section}")
        if number in numbers:
            problems.append(f"fact {number} is numbered twice")
        numbers.add(number)
        if not cells[-1].startswith(CONFIDENCE):
            problems.append(f"fact {number}: confidence {cells[-1]!r} is not one of {', '.join(CONFIDENCE)}")
        if not cells[-1].startswith("unverified") and not re.search(r"https://|botocore|#\d+", cells[-2]):
            problems.append(f"fact {number}: no source in {cells[-2]!r}")
    if not numbers:
        problems.append("no fact rows found")
    return problems


@pytest.fixture(scope="module")
def files() -> list[str]:
    return tracked_files(ROOT)


def test_no_file_cites_research_notes_outside_the_repository(files: list[str]) -> None:
    assert outside_note_citations(ROOT, files) == []


def test_relative_markdown_links_resolve(files: list[str]) -> None:
    markdown = [f for f in files if f.endswith(".md")]
    assert {"README.md", "docs/README.md", FACTS} <= set(markdown)
    assert broken_links(ROOT, markdown) == []


def test_cited_fact_sections_exist(files: list[str]) -> None:
    assert missing_fact_anchors(ROOT, files) == []


def test_every_fact_has_a_number_a_source_and_a_confidence() -> None:
    text = (ROOT / FACTS).read_text(encoding="utf-8")
    sections = [int(n) for n in _SECTION.findall(text)]
    assert sections == list(range(1, len(sections) + 1)), "sections are numbered 1, 2, 3, ... in order"
    assert len(sections) >= 11
    assert malformed_facts(text) == []


# --- the checks themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("1. Selection semantics", "1-selection-semantics"),
        ("4. Cross-account copies and KMS", "4-cross-account-copies-and-kms"),
        ("9. MemoryDB / OpenSearch", "9-memorydb--opensearch"),
        ("`split` or `partitioned`", "split-or-partitioned"),
        ("Plan layouts: `split` or [docs](x.md)", "plan-layouts-split-or-docs"),
        ("snake_case stays", "snake_case-stays"),
    ],
)
def test_slug_follows_github_rules(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_duplicate_headings_get_numbered_anchors() -> None:
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_checks_report_broken_links_anchors_and_outside_notes(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / FACTS).write_text("# Facts\n\n## 1. Selection semantics\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "[ok](docs/aws-facts.md#1-selection-semantics) [web](https://example.com/x.md)\n"
        "[gone](docs/missing.md) [bad anchor](docs/aws-facts.md#2-plan-rule-constraints)\n"
        "`[in code](nowhere.md)`\n"
        "Notes in ../" + "shared/ and facts §1.\n",
        encoding="utf-8",
    )
    (tmp_path / "mod.py").write_text("# see docs/aws-facts.md#3-logically-air-gapped-vaults\n")
    files = ["README.md", FACTS, "mod.py"]

    links = broken_links(tmp_path, ["README.md"])
    assert len(links) == 2
    assert "docs/missing.md: no such file" in links[0]
    assert "has no heading #2-plan-rule-constraints" in links[1]
    assert len(outside_note_citations(tmp_path, files)) == 1
    assert missing_fact_anchors(tmp_path, files) == [
        f"README.md:2: {FACTS}#2-plan-rule-constraints is not a heading of {FACTS}",
        f"mod.py:1: {FACTS}#3-logically-air-gapped-vaults is not a heading of {FACTS}",
    ]


def test_fact_rows_need_section_source_and_confidence() -> None:
    text = (
        "## 1. One\n"
        "| 1.1 | fact | `m.py` | https://docs.aws.amazon.com/x.html | documented |\n"
        "| 2.1 | fact | `m.py` | https://docs.aws.amazon.com/x.html | inferred |\n"
        "| 1.1 | fact | `m.py` | a blog | sure |\n"
        "| 1.2 | fact | `m.py` | nothing found | unverified |\n"
    )
    assert malformed_facts(text) == [
        "fact 2.1 is in section 1",
        "fact 1.1 is numbered twice",
        "fact 1.1: confidence 'sure' is not one of documented, inferred, unverified",
        "fact 1.1: no source in 'a blog'",
    ]
