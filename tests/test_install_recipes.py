"""The install instructions say what works today: until the first release is on PyPI, every client recipe that starts
the package with `uvx` (from PyPI) also gives the line that works now, from a checkout, and the README says so.

The checkout's line itself is proven by the demo's test, which runs the command the demo prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPE_PAGES = [ROOT / "README.md", ROOT / "docs" / "clients.md"]
FROM_PYPI = re.compile(r'uvx mcp-server-siliconflow-image|"command": "uvx"')
FROM_CHECKOUT = ".venv/bin/mcp-server-siliconflow-image"


PUBLISHED_ON_PYPI = False
"""Set to True with the first upload to PyPI (docs/development.md, Releasing): `uvx mcp-server-siliconflow-image`
works from then on, and the recipes' "today, from a checkout" lines may go."""


def sections(page: Path) -> list[tuple[str, str]]:
    """The page cut at its headings (outside code blocks): (heading, text) pairs, the text before the first too."""
    found: list[tuple[str, str]] = []
    heading, lines, in_code = "(top)", list[str](), False
    for line in page.read_text().splitlines():
        in_code = in_code != line.startswith("```")
        if not in_code and re.match(r"#{2,3} ", line):
            found.append((heading, "\n".join(lines)))
            heading, lines = line, []
        else:
            lines.append(line)
    return [*found, (heading, "\n".join(lines))]


@pytest.mark.parametrize("page", RECIPE_PAGES, ids=lambda page: page.name)
def test_every_recipe_that_starts_the_package_from_pypi_says_how_to_start_it_today(page: Path) -> None:
    if PUBLISHED_ON_PYPI:
        pytest.skip("on PyPI: uvx mcp-server-siliconflow-image works as written")
    without = [heading for heading, text in sections(page) if FROM_PYPI.search(text) and FROM_CHECKOUT not in text]
    assert without == [], f"{page.name}: these recipes give only the uvx line, which does not work before a release"


def test_the_readme_says_plainly_what_works_before_the_first_release() -> None:
    if PUBLISHED_ON_PYPI:
        pytest.skip("on PyPI")
    readme = (ROOT / "README.md").read_text()
    assert "not on PyPI yet" in readme and "What works today: a checkout" in readme
