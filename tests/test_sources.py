"""Every source the project cites can be checked from the repository: docs/sources.md documents each citation.

The five source documents are cited by the prefix of their text copy's file name and a line (``[001 L180]``).
The copies are not in the repository, so docs/sources.md gives each document's full reference and one row for
every distinct citation key used in README.md, docs/, sim/, scenarios/, experiments/ and tests/; and nothing in
those places may point to a file outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "docs" / "sources.md"
DOCUMENTS = ("000", "001", "002", "003", "004")

#: A bracketed citation: a document key, a space, then locators (``[001 L173, L180]``, ``[000 L119; 001 L173]``).
CITATION = re.compile(r"\[0\d\d [^\]]*\]")
#: One row of a citation table in docs/sources.md: ``| 001 L147 | section | what it supports |``.
ROW = re.compile(r"^\| (0\d\d(?: [^|]*?)?) \|", flags=re.MULTILINE)

# Built by concatenation so that this file does not contain them itself.
OUTSIDE = ("..", "/", "shared")
FORBIDDEN = ("".join(OUTSIDE), "MODEL" + ".md")


def scanned_files() -> list[Path]:
    """README.md and the text files under docs/ (not docs/results/), sim/, scenarios/, experiments/ and tests/."""
    files = [ROOT / "README.md"]
    for folder in ("docs", "sim", "scenarios", "experiments", "tests"):
        for path in sorted((ROOT / folder).rglob("*")):
            rel = path.relative_to(ROOT)
            if not path.is_file() or rel.parts[:2] == ("docs", "results") or "__pycache__" in rel.parts:
                continue
            if path.suffix in {".md", ".py", ".toml", ".csv", ".txt", ".json", ".js", ".css", ".html"}:
                files.append(path)
    return files


def citation_keys(citation: str) -> list[str]:
    """The keys of one bracketed citation: ``[000 L119; 001 L173, L180]`` -> 000 L119, 001 L173, 001 L180.

    A part that starts with a document key switches to that document; a bare locator belongs to the last one.
    Ranges are written with a hyphen (an en dash counts as one); a comment after a colon is dropped
    (``[001 L139: 25.6 bn over 36 shops]`` -> 001 L139); a bare document key (``[001 L137; 004]``) is the
    whole document.
    """
    keys, doc = [], None
    for part in re.split(r"[;,]", citation.strip()[1:-1]):
        part = part.strip().replace("\u2013", "-")
        m = re.match(r"(0\d\d)(?:\s+(.*))?$", part)
        if m:
            doc, locator = m.group(1), m.group(2)
        else:
            locator = part
        locator = (locator or "").split(":")[0].strip()
        keys.append(f"{doc} {locator}" if locator else doc)
    return keys


def cited_keys() -> dict[str, list[str]]:
    """Every citation key used in the scanned files, with where it is used (``path:line``)."""
    found: dict[str, list[str]] = {}
    for path in scanned_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for citation in CITATION.findall(line):
                for key in citation_keys(citation):
                    found.setdefault(key, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def rows() -> list[str]:
    return ROW.findall(SOURCES.read_text(encoding="utf-8"))


def document_section(doc: str) -> str:
    """The text of a document's entry in docs/sources.md, from its anchor to the next heading of its level."""
    text = SOURCES.read_text(encoding="utf-8")
    anchor = f'<a id="doc-{doc}"></a>'
    assert text.count(anchor) == 1, f"docs/sources.md needs one anchor {anchor}"
    start = text.index(anchor)
    end = min(i for i in (text.find("\n<a id=", start + 1), text.find("\n## ", start + 1)) if i > 0)
    return text[start:end]


def copy_lines(doc: str) -> int:
    m = re.search(rf"`{doc}_[0-9a-f]+\.txt`, (\d+) lines", document_section(doc))
    assert m, f"document {doc}: its entry must name its text copy and its number of lines"
    return int(m.group(1))


# ------------------------------------------------------------------ tests
def test_nothing_points_outside_the_repository():
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {word}"
        for path in scanned_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for word in FORBIDDEN
        if word in line
    ]
    assert not offending, "these refer to files outside the repository:\n" + "\n".join(offending)


def test_every_citation_has_a_row_in_sources_md():
    documented = set(rows())
    missing = {key: where for key, where in cited_keys().items() if key not in documented}
    assert not missing, "cited in the project but without a row in docs/sources.md:\n" + "\n".join(
        f"{key} ({', '.join(where[:3])})" for key, where in sorted(missing.items())
    )


def test_every_row_is_cited_once_and_by_the_project():
    table = rows()
    assert len(table) == len(set(table)), "a key has more than one row in docs/sources.md"
    unused = set(table) - set(cited_keys())
    assert not unused, f"rows in docs/sources.md that nothing cites any more: {sorted(unused)}"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_document_has_its_full_reference(doc):
    section = document_section(doc)
    heading = section.split("\n", 2)[2] if section.count("\n") >= 2 else ""
    assert heading.startswith(f"### Document {doc}:"), f"document {doc}: the anchor must stand before its heading"
    for part in ("**Reference.**", "**Text copy.**", "**What the project takes from it.**"):
        assert part in section, f"document {doc}: its entry has no {part}"
    assert copy_lines(doc) > 0


def test_cited_lines_exist_in_their_document():
    for key, where in cited_keys().items():
        doc, _, locator = key.partition(" ")
        assert doc in DOCUMENTS, f"{key} ({where[0]}): no such document"
        m = re.fullmatch(r"L(\d+)(?:-(\d+))?", locator)
        if not m:
            continue
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        assert 1 <= first <= last <= copy_lines(doc), f"{key} ({where[0]}): not a range of lines of document {doc}"


def test_a_new_citation_without_a_row_is_caught():
    def cite(text: str) -> str:  # built here so that this file cites nothing itself
        return "[" + text + "]"

    assert citation_keys(cite("001 L9999, L12")) == ["001 L9999", "001 L12"]
    assert citation_keys(cite("000 L119; 001 L173, L180")) == ["000 L119", "001 L173", "001 L180"]
    assert citation_keys(cite("000 Table 1, L319\u2013334")) == ["000 Table 1", "000 L319-334"]
    assert citation_keys(cite("001 L35, 000 L91")) == ["001 L35", "000 L91"]
    assert citation_keys(cite("001 L139: 25.6 bn over 36 shops")) == ["001 L139"]
    assert citation_keys(cite("001 L137; 004")) == ["001 L137", "004"]
    assert "001 L9999" not in set(rows())
