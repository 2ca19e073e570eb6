"""The documentation's links lead somewhere: the README (a front page, also shown on PyPI) to every docs/ page,
the docs/ pages to each other, and the links the server and the manifests hand to users (the doctor's fixes).

A link that lands on a missing page or heading is a dead end for exactly the reader who needed it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REPOSITORY = "https://github.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image"
RAW_FILES = "https://raw.githubusercontent.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image/main/"
README_LIMIT = 25_000  # bytes: the README is the front page, the reference lives in docs/
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
REPOSITORY_URL = re.compile(re.escape(REPOSITORY) + r"[^\s\"'`)<>]*|" + re.escape(RAW_FILES) + r"[^\s\"'`)<>]*")


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings (code blocks skipped, repeats numbered)."""
    seen: Counter[str] = Counter()
    anchors = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or not (heading := re.match(r"#{1,6} (.+)", line)):
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        anchors.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return anchors


def dead_end(target: Path, anchor: str) -> str | None:
    """Why a link to `target`#`anchor` leads nowhere; None when it arrives."""
    if not target.is_file():
        return f"{target.relative_to(ROOT)} does not exist"
    if anchor and target.suffix == ".md" and anchor not in heading_anchors(target.read_text()):
        return f"{target.relative_to(ROOT)} has no heading #{anchor}"
    return None


def repository_target(url: str) -> tuple[Path, str] | None:
    """The checkout file (and anchor) an absolute URL into this repository names; None for other pages."""
    address, _, anchor = url.partition("#")
    address = address.rstrip("/")
    if address == REPOSITORY:
        return ROOT / "README.md", "" if anchor == "readme" else anchor  # GitHub's own anchor for the README
    for prefix in (f"{REPOSITORY}/blob/main/", f"{REPOSITORY}/tree/main/", RAW_FILES):
        if address.startswith(prefix):
            return ROOT / unquote(address.removeprefix(prefix)), anchor
    return None  # releases, issues: pages GitHub makes


def docs_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_the_readme_is_a_front_page_with_a_table_of_contents() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= README_LIMIT, "move reference material into docs/"
    assert docs_pages(), "the reference lives in docs/"
    unlisted = [page.name for page in docs_pages() if f"]({REPOSITORY}/blob/main/docs/{page.name})" not in readme]
    assert unlisted == [], "every docs/ page belongs in the README's table of contents"


def test_every_readme_link_into_the_repository_arrives() -> None:
    readme = (ROOT / "README.md").read_text()
    links = [target for url in MARKDOWN_LINK.findall(readme) if (target := repository_target(url))]
    assert links
    assert [problem for target, anchor in links if (problem := dead_end(target, anchor))] == []


@pytest.mark.parametrize("page", docs_pages(), ids=lambda page: page.name)
def test_every_link_in_a_docs_page_arrives(page: Path) -> None:
    problems = []
    for url in MARKDOWN_LINK.findall(page.read_text()):
        if url.startswith(("http://", "https://", "mailto:")):
            target = repository_target(url)  # pages of this repository are linked relatively, but may be absolute
            if target is not None and (problem := dead_end(*target)):
                problems.append(f"{url}: {problem}")
            continue
        path, _, anchor = url.partition("#")
        if problem := dead_end((page.parent / unquote(path)).resolve() if path else page, anchor):
            problems.append(f"{url}: {problem}")
    assert problems == []


def test_links_the_server_and_manifests_give_users_arrive() -> None:
    """The doctor's fixes and the manifests' documentation links name pages that exist."""
    sources = [*(ROOT / "server").rglob("*.py"), *(ROOT / "manifests").rglob("*.json"), ROOT / "pyproject.toml"]
    links = {url for source in sources for url in REPOSITORY_URL.findall(source.read_text())}
    assert any("/docs/" in url for url in links), "the doctor points at the client recipes in docs/"
    problems = [
        f"{url}: {problem}"
        for url in sorted(links)
        if (target := repository_target(url)) and (problem := dead_end(*target))
    ]
    assert problems == []
