"""The repository explains itself: every "docs/<file>.md §N" citation in code and documents names a document of
`docs/` and a numbered section heading it has (`## N. ...`), and nothing cites documents the repository does not hold.

Citations come in these forms: `docs/architecture.md §3`, `docs/o2-conventions.md §1, §2`, `... §3 and §4`,
`... §1-§4, §6`, with the file name optionally in backticks and the section on the next line. Inside a numbered
document, a bare `§N` refers to that document's own section N.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCANNED_SUFFIXES = {".py", ".md"}
NEGATIVE_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".sh", ".cfg"}
KEPT_HIDDEN = {".chalice", ".ci"}  # hidden directories that are part of the project
SKIPPED = {"node_modules", "__pycache__"}

_SECTION_LIST = r"§\d+(?:\s*(?:,|-|\u2013|and)\s*§\d+)*"  # "-" or an en dash between the ends of a range
CITATION = re.compile(r"`?docs/(?P<file>[\w.-]+\.md)`?\s+(?P<sections>" + _SECTION_LIST + ")")
DOC_MENTION = re.compile(r"docs/(?P<file>[\w.-]+\.md)")
BARE_SECTION = re.compile(r"§(?P<number>\d+)(?![.\d])")
HEADING = re.compile(r"^#{1,6}\s+(?P<number>\d+)\.\s", re.MULTILINE)
# Documents that are not in this repository, spelled in pieces so this file does not cite them itself.
FORBIDDEN = ("design" + " §", "o2" + "-facts", "design" + ".md", "design" + " document")


def _files(suffixes: set[str]) -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories
                             if d not in SKIPPED and (not d.startswith(".") or d in KEPT_HIDDEN)]
        for name in names:
            if Path(name).suffix in suffixes:
                yield Path(directory) / name


def _sections(text: str) -> set[int]:
    """`§1-§3, §6` -> {1, 2, 3, 6}."""
    numbers: set[int] = set()
    for part in re.split(r"\s*(?:,|and)\s*", text):
        bounds = [int(n) for n in re.findall(r"§(\d+)", part)]
        if bounds:
            numbers.update(range(min(bounds), max(bounds) + 1))
    return numbers


def _headings(document: str) -> set[int]:
    path = DOCS / document
    return {int(m["number"]) for m in HEADING.finditer(path.read_text(encoding="utf-8"))} if path.is_file() else set()


def _citations() -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    for path in _files(SCANNED_SUFFIXES):
        text = path.read_text(encoding="utf-8", errors="replace")
        where = str(path.relative_to(ROOT))
        for match in CITATION.finditer(text):
            found.extend((where, match["file"], number) for number in sorted(_sections(match["sections"])))
        if path.parent == DOCS and _headings(path.name):
            own = CITATION.sub("", text)
            found.extend((where, path.name, int(m["number"])) for m in BARE_SECTION.finditer(own))
    return found


def test_there_are_citations_to_check() -> None:
    cited = {document for _, document, _ in _citations()}
    assert {"architecture.md", "o2-conventions.md"} <= cited


def test_every_cited_section_exists() -> None:
    missing = sorted({f"{where}: docs/{document} §{number}" for where, document, number in _citations()
                      if number not in _headings(document)})
    assert missing == [], "cited sections that docs/ does not have"


def test_every_mentioned_document_exists() -> None:
    missing = sorted({f"{path.relative_to(ROOT)}: docs/{m['file']}" for path in _files(SCANNED_SUFFIXES)
                      for m in DOC_MENTION.finditer(path.read_text(encoding="utf-8", errors="replace"))
                      if not (DOCS / m["file"]).is_file()})
    assert missing == []


@pytest.mark.parametrize("document", ["architecture.md", "o2-conventions.md"])
def test_numbered_documents_number_their_sections_in_order(document: str) -> None:
    text = (DOCS / document).read_text(encoding="utf-8")
    numbers = [int(m["number"]) for m in HEADING.finditer(text)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_nothing_cites_documents_outside_the_repository() -> None:
    offending: list[str] = []
    for path in _files(NEGATIVE_SUFFIXES):
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            offending.extend(f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                             for forbidden in FORBIDDEN if forbidden in line)
    assert offending == [], "cite the docs/ section that holds the decision instead"
