"""`mcp-server-siliconflow-image doctor`: what a user runs when their client says "the server disconnected".

Each check makes the real call the server would make (the key against `GET /user/info`, the image API
against `GET /models`, a file written into the image folder) and reports one line: a verdict, what it
found, and the fix. The exit status is 0 only when generating would work, so scripts can rely on it.
Client configs are read to show what each client would start; a problem there is a warning, since
it concerns one client and not whether this install can generate.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from importlib import metadata
from itertools import islice
from pathlib import Path

import anyio

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.credentials import redact
from mcp_server_siliconflow_image.doctor.check import Check
from mcp_server_siliconflow_image.doctor.clients import check_clients
from mcp_server_siliconflow_image.doctor.provider import check_provider
from mcp_server_siliconflow_image.settings import Settings, default_image_folders
from mcp_server_siliconflow_image.stores.naming import is_image_name

MIN_FREE_BYTES = 50 * 1024 * 1024
"""Less than one large provider image: saving would fail."""
LOW_FREE_BYTES = 500 * 1024 * 1024
MAX_COUNTED_IMAGES = 100_000


# ---------------------------------------------------------------- runtime


def check_runtime() -> list[Check]:
    version = ".".join(str(part) for part in sys.version_info[:3])
    implementation = sys.implementation.name.replace("cpython", "CPython")
    python = Check("python", "ok", f"{implementation} {version} at {sys.executable}")
    try:
        sdk = metadata.version("mcp")
    except metadata.PackageNotFoundError:
        sdk = "not installed"
    package = Check("package", "ok", f"mcp-server-siliconflow-image {__version__}, MCP SDK {sdk}")
    return [python, package]


# ---------------------------------------------------------------- image folder


def check_image_store(settings: Settings) -> Check:
    """Whether images can be saved, by the very probe generation makes before paying (`Store.problem`): a real
    write into the folder, or one conditional probe write into the bucket. A folder also reports its free space."""
    from mcp_server_siliconflow_image.stores.base import open_store

    store = open_store(settings)
    if settings.image_store is not None:
        problem = store.problem()
        if problem is not None:
            fix = "fix the bucket, its credentials (AWS_*) or SILICONFLOW_IMAGE_DIR"
            return Check("image store", "fail", problem, fix)
        return Check("image store", "ok", f"{store.location}: reachable and writable")
    folder = settings.image_dir
    missing = [path for path in (folder, *folder.parents) if not path.exists()] if folder.is_absolute() else []
    try:
        problem = store.problem()
    finally:
        for created in missing:  # deepest first: the doctor looks, it leaves no folder behind
            with contextlib.suppress(OSError):
                created.rmdir()
    if problem is not None:
        fix = "set SILICONFLOW_IMAGE_DIR to a folder you can write to, or fix its permissions"
        return Check("image folder", "fail", problem, fix)
    found = _folder_space(folder, existed=not missing)
    return found if "image_dir" in settings.explicitly_set else _with_other_defaults(found, folder)


def _with_other_defaults(found: Check, folder: Path) -> Check:
    """The default folder's finding, naming the other default folder too: where earlier images are (loudly), or
    the folder that would be used if this one held no images (`~/Pictures` may appear after the first images)."""
    defaults = default_image_folders()
    if defaults.earlier_images:
        others = ", ".join(f"{other} ({_count(other)} images)" for other in defaults.earlier_images)
        return Check(
            found.name,
            "warn" if found.verdict == "ok" else found.verdict,
            f"{found.detail}; images of earlier runs are in {others}",
            f"set SILICONFLOW_IMAGE_DIR to the folder you want and move the images there; resources/list shows "
            f"only {folder}",
        )
    if defaults.passed_over and defaults.chosen == folder:
        unused = ", ".join(str(other) for other in defaults.passed_over)
        detail = f"{found.detail} (the default, kept because it holds your images; {unused} is not used)"
        return Check(found.name, found.verdict, detail, found.fix)
    return found


def _count(folder: Path) -> int:
    return sum(1 for _ in islice(_saved_images(folder), MAX_COUNTED_IMAGES))


def _folder_space(folder: Path, *, existed: bool) -> Check:
    """A writable folder's free space (a verdict of its own: too little fails the next save) and its images."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    free = shutil.disk_usage(existing).free
    if existed:
        detail = f"{folder}: writable, {_size(free)} free, {_count(folder)} images saved there"
    else:
        detail = f"{folder}: will be created with the first image, {_size(free)} free"
    if free < MIN_FREE_BYTES:
        return Check("image folder", "fail", detail, "free some disk space or move SILICONFLOW_IMAGE_DIR")
    if free < LOW_FREE_BYTES:
        return Check("image folder", "warn", detail, "free some disk space soon: provider images are 1-3 MB each")
    return Check("image folder", "ok", detail)


def _saved_images(folder: Path) -> Iterable[str]:
    try:
        for entry in os.scandir(folder):
            if is_image_name(entry.name):
                yield entry.name
    except OSError:
        return


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


# ---------------------------------------------------------------- report


def run_checks(
    settings: Settings | None,
    settings_error: str | None = None,
    *,
    home: Path | None = None,
    platform: str = sys.platform,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Check]:
    """Every check, in the order a user fixes things: runtime, settings, provider, folder, clients."""
    checks = check_runtime()
    if settings is None:
        checks.append(Check("settings", "fail", settings_error or "unusable", "fix the variable or flag named"))
    else:
        checks += anyio.run(check_provider, settings)
        checks.append(check_image_store(settings))
    checks += check_clients(
        home or Path.home(), platform, os.environ if environ is None else environ, cwd or Path.cwd()
    )
    return checks


def generation_works(checks: Iterable[Check]) -> bool:
    return all(check.verdict != "fail" for check in checks)


def format_text(checks: list[Check], image_dir: Path | None) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"mcp-server-siliconflow-image {__version__} doctor"]
    for check in checks:
        fix = f"  -> fix: {check.fix}" if check.fix and check.verdict != "ok" else ""
        lines.append(f"{check.verdict.upper():<5} {check.name:<{width}}  {check.detail}{fix}")
    failures = sum(check.verdict == "fail" for check in checks)
    if failures:
        lines.append(f"Generating will NOT work: {failures} problem{'s' * (failures > 1)} marked FAIL above.")
    else:
        lines.append("Generating works." + (f" Images are saved in {image_dir}" if image_dir else ""))
    return "\n".join(lines)


def format_json(checks: list[Check], image_dir: Path | None) -> str:
    return json.dumps(
        {
            "ok": generation_works(checks),
            "version": __version__,
            "image_dir": str(image_dir) if image_dir else None,
            "checks": [asdict(check) for check in checks],
        },
        indent=2,
    )


def run_doctor(settings: Settings | None, settings_error: str | None = None, *, as_json: bool = False) -> int:
    """Print the report on stdout; the exit status is 0 only when generating would work."""
    checks = run_checks(settings, settings_error)
    image_dir = settings.image_dir if settings else None
    report = format_json(checks, image_dir) if as_json else format_text(checks, image_dir)
    report = redact(report, settings.secret_values() if settings else [])
    try:
        print(report, flush=True)
    except BrokenPipeError:
        # The reader stopped early (`doctor | head`); the exit status still carries the verdict.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if generation_works(checks) else 1
