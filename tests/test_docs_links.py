"""Every relative link and image in the project's Markdown points at a file inside the repository.

GitHub renders README.md and docs/*.md with relative links resolved from each file's folder; a link to
a missing file, or to one outside the repository (such as ../shared/...), is broken for whoever clones it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OTHER_READMES = ("packaging/README.md", "trainer/README.md", "assets/models/README.md")

# [text](target) and ![alt](target), with an optional "title"; code spans and fences are removed first.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
EXTERNAL = ("http://", "https://", "mailto:")


def markdown_files() -> list[Path]:
    """README.md, every docs/*.md and the other READMEs that exist."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    files += [ROOT / name for name in OTHER_READMES if (ROOT / name).exists()]
    return files


def link_targets(text: str) -> list[str]:
    """The link and image targets of a Markdown text, outside code blocks and code spans."""
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return LINK.findall(text)


def broken_links(path: Path) -> list[str]:
    """One line per relative link of `path` that names a missing file or leaves the repository."""
    problems = []
    for target in link_targets(path.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL) or target.startswith("#"):
            continue
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (path.parent / file_part).resolve()
        where = f"{path.relative_to(ROOT)}: {target}"
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where} does not exist")
    return problems


def test_markdown_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert "README.md" in names
    assert {"docs/architecture.md", "docs/performance.md", "docs/faithfulness.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(path: Path) -> None:
    assert broken_links(path) == []


def test_readme_links_the_docs() -> None:
    targets = set(link_targets((ROOT / "README.md").read_text(encoding="utf-8")))
    for doc in ("docs/performance.md", "docs/architecture.md", "docs/faithfulness.md"):
        assert doc in targets


def test_checker_reports_missing_and_outside_targets(tmp_path: Path) -> None:
    """The checker itself: a page in the repository with good and bad links (written to a temporary
    folder inside the repository so that `relative_to(ROOT)` holds)."""
    folder = ROOT / "docs" / f".linkcheck-{tmp_path.name}"
    folder.mkdir()
    try:
        page = folder / "page.md"
        page.write_text(
            "[ok](../../README.md) ![img](../screenshots/main_window.png) [web](https://example.org)\n"
            "[anchor](#speed) [missing](nothing_here.md) [outside](../../../shared/ARCHITECTURE.md)\n"
            "`[code](not_checked.md)`\n```\n[fenced](not_checked_either.md)\n```\n",
            encoding="utf-8",
        )
        problems = broken_links(page)
    finally:
        page.unlink(missing_ok=True)
        folder.rmdir()
    assert len(problems) == 2
    assert "nothing_here.md does not exist" in problems[0]
    assert "shared/ARCHITECTURE.md points outside the repository" in problems[1]
