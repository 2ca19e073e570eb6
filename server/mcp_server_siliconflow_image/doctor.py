"""`mcp-server-siliconflow-image doctor`: what a user runs when their client says "the server disconnected".

Each check makes the real call the server would make (the key against `GET /user/info`, the image API
against `GET /models`, a file written into the image folder) and reports one line: a verdict, what it
found, and the fix. The exit status is 0 only when generating would work, so scripts can rely on it.
Client configs are read to show what each client would start; a problem there is a warning, since
it concerns one client and not whether this install can generate.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Literal

import anyio
import httpx

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.client_configs import (
    GUI_PATH,
    ConfigReading,
    ServerEntry,
    config_locations,
    installed_bundles,
    read_config,
    resolve_command,
)
from mcp_server_siliconflow_image.provider import (
    MODEL_LIST_TIMEOUT_SECONDS,
    Account,
    ProviderClient,
    ProviderError,
    create_http_client,
)
from mcp_server_siliconflow_image.settings import Settings

Verdict = Literal["ok", "warn", "fail", "skip"]
KEY_PAGE = "https://cloud.siliconflow.cn/account/ak"
MIN_FREE_BYTES = 50 * 1024 * 1024
"""Less than one large provider image: saving would fail."""
LOW_FREE_BYTES = 500 * 1024 * 1024
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_COUNTED_IMAGES = 100_000
UNREACHABLE_FIX = (
    "check the network (proxy, firewall) and SILICONFLOW_BASE_URL: https://api.siliconflow.cn/v1, or "
    "https://api.siliconflow.com/v1 for the international site"
)
README_CLIENTS = "https://github.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image#clients"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class ModelProbe:
    """What `GET /models?type=image` said: the text-to-image ids, or the failure."""

    model_ids: list[str] | None
    error: ProviderError | None


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


# ---------------------------------------------------------------- provider


async def check_provider(settings: Settings) -> list[Check]:
    """The endpoint and the key, each with one real request, both at once (each bounded to a few seconds)."""
    async with create_http_client(settings) as http:
        if settings.api_key is None:
            endpoint = await _check_endpoint_without_key(settings, http)
            key = Check(
                "key",
                "fail",
                "no API key is set, so generate_image and edit_image cannot work",
                f"set SILICONFLOW_API_KEY in the client's config for this server (create a key at {KEY_PAGE})",
            )
            return [endpoint, key]
        provider = ProviderClient(settings, http)
        probe: ModelProbe | None = None
        account: Account | ProviderError | None = None

        async def probe_models() -> None:
            nonlocal probe
            probe = await _probe_models(provider)

        async def probe_account() -> None:
            nonlocal account
            try:
                account = await provider.user_info()
            except ProviderError as error:
                account = error

        async with anyio.create_task_group() as group:
            group.start_soon(probe_models)
            group.start_soon(probe_account)
    assert probe is not None and account is not None
    return [_endpoint_verdict(settings, probe), _key_verdict(settings, account, probe)]


async def _probe_models(provider: ProviderClient) -> ModelProbe:
    try:
        return ModelProbe(await provider.list_model_ids("text-to-image"), None)
    except ProviderError as error:
        return ModelProbe(None, error)


async def _check_endpoint_without_key(settings: Settings, http: httpx.AsyncClient) -> Check:
    try:
        response = await http.get(
            f"{settings.base_url}/models", params={"type": "image"}, timeout=MODEL_LIST_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as error:
        return _unreachable(settings, type(error).__name__)
    return Check(
        "endpoint",
        "ok",
        f"{settings.base_url} answers (HTTP {response.status_code} without a key); "
        "its image models can be checked once a key is set",
    )


def _unreachable(settings: Settings, reason: str) -> Check:
    return Check("endpoint", "fail", f"{settings.base_url} cannot be reached ({reason})", UNREACHABLE_FIX)


def _endpoint_verdict(settings: Settings, probe: ModelProbe) -> Check:
    error = probe.error
    if error is not None and error.status is None:
        return Check("endpoint", "fail", str(error), UNREACHABLE_FIX)
    if error is not None and error.status == 404:
        return Check(
            "endpoint",
            "warn",
            f"{settings.base_url} answers but has no model list (GET /models: 404), as some gateways; "
            "its image API is not confirmed",
            "if generation fails with 404, SILICONFLOW_BASE_URL is not an image API: it should end in /v1",
        )
    if error is not None:
        return Check("endpoint", "ok", f"{settings.base_url} answers (GET /models: HTTP {error.status})")
    models = probe.model_ids or []
    if not models:
        return Check(
            "endpoint",
            "warn",
            f"{settings.base_url} answers but lists no text-to-image models",
            "check SILICONFLOW_BASE_URL points at SiliconFlow or a gateway that offers image models",
        )
    detail = f"{settings.base_url} answers: {len(models)} text-to-image models"
    if settings.default_model not in models:
        return Check(
            "endpoint",
            "warn",
            f"{detail}, but not the default model {settings.default_model}",
            f"set SILICONFLOW_DEFAULT_MODEL to one it offers, e.g. {models[0]} (list_models shows them all)",
        )
    return Check("endpoint", "ok", f"{detail}, the default {settings.default_model} among them")


def _key_verdict(settings: Settings, account: Account | ProviderError, probe: ModelProbe) -> Check:
    if isinstance(account, Account):
        return _balance_verdict(account)
    if account.status in (401, 403):
        return _refused(account)
    if account.status == 404 or (account.status is None and probe.error is None):
        # The China site retired GET /user/info; the model list needs the key too, so it checks it instead.
        return _key_verdict_from_models(settings, probe)
    if account.status is None:
        return Check("key", "skip", f"not checked: {settings.base_url} did not answer")
    return Check("key", "fail", f"could not be checked: {account}", "try again shortly")


def _key_verdict_from_models(settings: Settings, probe: ModelProbe) -> Check:
    if probe.error is None:
        return Check("key", "ok", "accepted (checked with GET /models); balance unavailable on this endpoint")
    if probe.error.status in (401, 403):
        return _refused(probe.error)
    if probe.error.status is None:
        return Check("key", "skip", f"not checked: {settings.base_url} did not answer")
    return Check(
        "key",
        "warn",
        "could not be checked: this endpoint has neither /user/info nor /models",
        "generate one image to find out; a 401 then means the key is wrong",
    )


def _refused(error: ProviderError) -> Check:
    return Check(
        "key",
        "fail",
        f"the provider refused the key (HTTP {error.status})",
        f"copy the key again from {KEY_PAGE} into SILICONFLOW_API_KEY; keys of the .cn site do not work "
        "on api.siliconflow.com and the other way round",
    )


def _balance_verdict(account: Account) -> Check:
    balance = account.total_balance or account.balance
    detail = f"accepted; balance {balance}" if balance is not None else "accepted; balance not reported"
    if account.status not in (None, "normal"):
        return Check(
            "key",
            "warn",
            f"{detail}, account status {account.status!r}",
            "check the account in the SiliconFlow console",
        )
    try:
        empty = balance is not None and Decimal(balance) <= 0
    except InvalidOperation:
        empty = False
    if empty:
        return Check(
            "key",
            "warn",
            f"{detail}: paid models will be refused",
            "top up in the SiliconFlow console, or use a free model such as Kwai-Kolors/Kolors",
        )
    return Check("key", "ok", detail)


# ---------------------------------------------------------------- image folder


def check_image_folder(folder: Path) -> Check:
    """Whether images can be saved in `folder`: a real file written there, and the free space."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        blocker = "is a file" if existing == folder else f"cannot be created: {existing} is a file"
        return Check("image folder", "fail", f"{folder} {blocker}", "set SILICONFLOW_IMAGE_DIR to a folder")
    problem = _write_problem(folder, existing)
    if problem is not None:
        return Check(
            "image folder",
            "fail",
            f"{folder} {problem}",
            "set SILICONFLOW_IMAGE_DIR to a folder you can write to, or fix its permissions",
        )
    free = shutil.disk_usage(existing).free
    if folder.exists():
        count = sum(1 for _ in islice(_saved_images(folder), MAX_COUNTED_IMAGES))
        detail = f"{folder}: writable, {_size(free)} free, {count} images saved there"
    else:
        detail = f"{folder}: will be created with the first image, {_size(free)} free"
    if free < MIN_FREE_BYTES:
        return Check("image folder", "fail", detail, "free some disk space or move SILICONFLOW_IMAGE_DIR")
    if free < LOW_FREE_BYTES:
        return Check("image folder", "warn", detail, "free some disk space soon: provider images are 1-3 MB each")
    return Check("image folder", "ok", detail)


def _write_problem(folder: Path, existing: Path) -> str | None:
    """Why nothing can be written into `folder` (None: a probe file was written and removed there)."""
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"cannot be created: {existing} is not writable"
        return None
    probe = folder / f".doctor-{secrets.token_hex(6)}.probe"
    try:
        with open(probe, "xb") as handle:
            handle.write(b"probe")
    except OSError as error:
        return f"is not writable ({error.strerror or type(error).__name__})"
    probe.unlink(missing_ok=True)
    return None


def _saved_images(folder: Path) -> Iterable[Path]:
    try:
        for entry in os.scandir(folder):
            if not entry.name.startswith(".") and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
                yield Path(entry.path)
    except OSError:
        return


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


# ---------------------------------------------------------------- client configs


def check_clients(home: Path, platform: str, environ: Mapping[str, str], cwd: Path | None) -> list[Check]:
    """One line per client config: whether it starts this server, and whether its command would be found."""
    checks = [
        _config_verdict(reading, platform, environ.get("PATH"))
        for reading in map(read_config, config_locations(home, platform, environ, cwd))
        if reading.exists or not reading.location.project
    ]
    checks += [
        Check("Claude Desktop", "ok", f"MCPB bundle installed at {folder} (Claude Desktop starts it itself)")
        for folder in installed_bundles(home, platform, environ)
    ]
    return checks


def _config_verdict(reading: ConfigReading, platform: str, path: str | None) -> Check:
    client, where = reading.location.client, reading.location.path
    if not reading.exists:
        return Check(client, "skip", f"no config at {where}")
    if reading.error is not None:
        return Check(client, "warn", f"{where} {reading.error}", "fix the file: the client ignores all of it")
    if not reading.entries:
        return Check(client, "skip", f"{where} has no entry for this server", f"to add one, see {README_CLIENTS}")
    return _entry_verdict(client, where, reading.entries[0], reading.location.gui and platform == "darwin", path)


def _entry_verdict(client: str, where: Path, entry: ServerEntry, gui_path: bool, path: str | None) -> Check:
    if entry.url is not None:
        return Check(client, "ok", f"{where}: {entry.name!r} connects to {entry.url}")
    started = " ".join([entry.command, *_masked(entry.args)])
    detail = f"{where}: {entry.name!r} starts `{started}`"
    found = resolve_command(entry.command, path)
    if found is None:
        return Check(
            client,
            "warn",
            f"{detail}, but `{entry.command}` is not found",
            _command_fix(entry.command),
        )
    if gui_path and resolve_command(entry.command, GUI_PATH) is None:
        return Check(
            client,
            "warn",
            f"{detail}; `{entry.command}` is at {found}, which apps started from the Dock do not see "
            f"(their PATH is {GUI_PATH})",
            f'set "command" to "{found}" and restart {client.split(" (")[0]}',
        )
    if "SILICONFLOW_API_KEY" not in entry.env_names:
        return Check(
            client,
            "warn",
            f"{detail} ({entry.command} at {found}) without SILICONFLOW_API_KEY in its env",
            'add "SILICONFLOW_API_KEY" to the entry\'s "env": apps do not see your shell\'s variables',
        )
    harness = " (it prompts with ${input:…}, so Copilot's agent harness skips it: use envFile)" * entry.needs_input
    return Check(client, "ok", f"{detail} ({entry.command} at {found}), with SILICONFLOW_API_KEY set{harness}")


def _masked(args: Iterable[str]) -> list[str]:
    """The arguments with any --api-key/--mcp-token value hidden (configs may carry the key there)."""
    shown: list[str] = []
    hide_next = False
    for arg in args:
        flag, equals, _ = arg.partition("=")
        if hide_next:
            shown.append("**********")
        elif equals and flag in ("--api-key", "--mcp-token"):
            shown.append(f"{flag}=**********")
        else:
            shown.append(arg)
        hide_next = arg in ("--api-key", "--mcp-token")
    return shown


def _command_fix(command: str) -> str:
    installed = shutil.which("mcp-server-siliconflow-image") or os.path.abspath(sys.argv[0])
    if command in ("uvx", "uv"):
        return (
            f"install uv (https://docs.astral.sh/uv/getting-started/installation/) and use its absolute path, "
            f'or set "command" to "{installed}" with no "args"'
        )
    return f'set "command" to an absolute path, e.g. "{installed}"'


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
        checks.append(check_image_folder(settings.image_dir))
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
    key = settings.api_key.reveal() if settings and settings.api_key else ""
    if key:
        report = report.replace(key, "[redacted]")
    try:
        print(report, flush=True)
    except BrokenPipeError:
        # The reader stopped early (`doctor | head`); the exit status still carries the verdict.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if generation_works(checks) else 1
