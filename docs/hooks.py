"""MkDocs hooks: README.md is the site's home page, as it is the repository's front page on GitHub.

The README links to the pages as ``docs/NAME.md`` and the pages link back to it as ``../README.md``:
both work on GitHub. In the site the README becomes ``index.md`` beside the pages, so its links lose
their ``docs/`` and the pages' links to it point to ``index.md``. ``mkdocs build --strict`` then
checks every link of the result (tests/test_site.py).
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
#: A Markdown link or image target that starts in docs/: ``](docs/NAME.md#anchor)``.
_TO_DOCS = re.compile(r"\]\(docs/")
#: A link from a page to the README: ``](../README.md`` (an anchor may follow).
_TO_README = re.compile(r"\]\(\.\./README\.md")


def home(readme: str) -> str:
    """The README as the site's home page: its links into docs/ made relative to docs/."""
    return _TO_DOCS.sub("](", readme)


def on_files(files, config):
    """Add the README to the site as ``index.md``."""
    from mkdocs.structure.files import File

    if files.get_file_from_path("index.md") is not None:
        raise ValueError("docs/index.md would hide README.md, the site's home page: remove it")
    files.append(File.generated(config, "index.md", content=home(README.read_text(encoding="utf-8"))))
    return files


def on_page_markdown(markdown, page, config, files):
    """Point a page's links to the README at the home page."""
    return _TO_README.sub("](index.md", markdown)
