"""What PyPI would get: the sdist and wheel built from this checkout pass `twine check`, carry what they must,
and the sdist runs its own tests."""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from mcp_server_siliconflow_image import __version__
from tests.helpers import ROOT
from tests.packaging_tools import tools_bin, uv_environment

pytestmark = [pytest.mark.external, pytest.mark.slow]
NAME = "mcp_server_siliconflow_image"
REPOSITORY = "https://github.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image"
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel), the wheel built from the sdist as `uv build` and PyPI's own builders do."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [str(tools_bin() / "uv"), "build", "--out-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **uv_environment()},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / f"{NAME}-{__version__}.tar.gz", out / f"{NAME}-{__version__}-py3-none-any.whl"


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"{NAME}-{__version__}.dist-info/METADATA"))


def test_twine_check_passes(built: tuple[Path, Path]) -> None:
    done = subprocess.run(
        [str(tools_bin() / "twine"), "check", "--strict", *map(str, built)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_is_typed_and_says_where_the_project_lives(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{NAME}-{__version__}.dist-info/entry_points.txt").decode()
    assert f"{NAME}/py.typed" in names
    assert not any(name.startswith(("tests/", "bench/", "server/")) for name in names)
    assert "mcp-server-siliconflow-image = mcp_server_siliconflow_image.cli:main" in entry_points
    metadata = wheel_metadata(wheel)
    assert metadata["Version"] == __version__
    assert metadata["Requires-Python"] == ">=3.11"
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL", []))
    assert urls["Repository"] == REPOSITORY and urls["Issues"] == f"{REPOSITORY}/issues"
    assert urls["Changelog"].startswith(REPOSITORY) and "Typing :: Typed" in metadata.get_all("Classifier", [])


def test_the_readme_pypi_shows_has_only_absolute_links(built: tuple[Path, Path]) -> None:
    description = wheel_metadata(built[1]).get_payload()
    assert isinstance(description, str) and "mcp-name: io.github." in description
    targets = re.findall(r"\]\(([^)\s]+)\)", description) + re.findall(r"^\[[^\]]+\]: (\S+)$", description, re.M)
    assert targets, "the README has no links at all?"
    relative = [target for target in targets if not target.startswith(("https://", "http://", "mailto:"))]
    assert relative == [], "relative links and #anchors do not work on PyPI; use absolute URLs"


def checkout_files(*folders: str) -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for folder in folders
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and not SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
    }


def test_the_sdist_carries_everything_the_tests_read(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    prefix = f"{NAME}-{__version__}/"
    with tarfile.open(sdist) as archive:
        names = {member.name.removeprefix(prefix) for member in archive.getmembers() if member.isfile()}
    needed = checkout_files("server", "tests", "bench", "manifests")
    needed |= {"README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml"}
    needed |= {str(page.relative_to(ROOT)) for page in (ROOT / "docs").glob("*.md")}  # the docs' link tests read them
    assert needed - names == set()
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest run inside an unpacked sdist, its own sources first so the code under test is the sdist's."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "server")},
    )


def test_the_unpacked_sdist_runs_its_own_tests(built: tuple[Path, Path], tmp_path: Path) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    root = tmp_path / f"{NAME}-{__version__}"
    collect = pytest_in(root, "--collect-only")
    assert collect.returncode == 0, collect.stdout[-3000:] + collect.stderr[-3000:]
    # A benchmark test (the 0.1 sdist failed them: bench/ was missing) and the manifest checks, which read
    # manifests/. The quick benchmark run itself is left to the checkout's own test: twice is 100 s more of CI.
    run = pytest_in(
        root, "tests/test_bench.py::test_hosting_checks_benchmark_prints_every_row", "tests/test_manifests.py"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout.splitlines()[-1] and "skipped" not in run.stdout.splitlines()[-1]
