"""Configuration: every contract variable is read, bad values are explained, the key never shows."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.cli import build_parser, settings_from_args
from mcp_server_siliconflow_image.settings import ENV_VARIABLES, Secret, Settings, SettingsError, default_image_dir
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import API_KEY, first_text, generate


def test_defaults_match_the_contract() -> None:
    settings = Settings.load({})
    assert settings.api_key is None
    assert settings.base_url == "https://api.siliconflow.cn/v1"
    assert settings.default_model == "Kwai-Kolors/Kolors"
    assert settings.edit_model == "Qwen/Qwen-Image-Edit-2509"
    assert settings.timeout == 180
    assert settings.inline_max_bytes == 900_000
    assert settings.structured_output is True
    assert settings.image_dir.is_absolute()


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "SILICONFLOW_API_KEY": "sk-1",
        "SILICONFLOW_BASE_URL": "https://api.siliconflow.com/v1/",
        "SILICONFLOW_IMAGE_DIR": "s3://team-bucket/imgs/",
        "SILICONFLOW_DEFAULT_MODEL": "Qwen/Qwen-Image",
        "SILICONFLOW_EDIT_MODEL": "Qwen/Qwen-Image-Edit",
        "SILICONFLOW_VIDEO_MODEL": "Wan-AI/Wan2.2-I2V-A14B",
        "SILICONFLOW_INPUT_DIRS": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]),
        "SILICONFLOW_TIMEOUT": "30",
        "SILICONFLOW_INLINE_MAX_BYTES": "0",
        "SILICONFLOW_STRUCTURED_OUTPUT": "false",
        "SILICONFLOW_MCP_TOKEN": "tok",
        "SILICONFLOW_MAX_IMAGE_BYTES": "1000",
        "SILICONFLOW_RESOURCE_LINKS": "false",
        "SILICONFLOW_MCP_TOKENS_FILE": str(tmp_path / "tokens"),
        "SILICONFLOW_IMAGE_URL_TTL": "900",
    }
    assert set(env) == set(ENV_VARIABLES)
    settings = Settings.load(env)
    assert settings.api_key is not None and settings.api_key.reveal() == "sk-1"
    assert settings.base_url == "https://api.siliconflow.com/v1"
    assert settings.image_store == "s3://team-bucket/imgs"
    assert (settings.default_model, settings.edit_model) == ("Qwen/Qwen-Image", "Qwen/Qwen-Image-Edit")
    assert settings.input_dirs == (tmp_path / "a", tmp_path / "b")
    assert (settings.timeout, settings.inline_max_bytes, settings.structured_output) == (30, 0, False)
    assert settings.mcp_token is not None and settings.mcp_token.reveal() == "tok"
    assert settings.max_download_bytes == 1000
    assert settings.resource_links is False
    assert {"resource_links", "structured_output", "inline_max_bytes"} <= settings.explicitly_set
    assert (settings.mcp_tokens_file, settings.image_url_ttl) == (tmp_path / "tokens", 900)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SILICONFLOW_TIMEOUT", "soon", "SILICONFLOW_TIMEOUT must be a number of seconds"),
        ("SILICONFLOW_TIMEOUT", "0", "greater than 0"),
        ("SILICONFLOW_INLINE_MAX_BYTES", "-5", "SILICONFLOW_INLINE_MAX_BYTES must be a whole number"),
        ("SILICONFLOW_STRUCTURED_OUTPUT", "perhaps", "must be true or false"),
        ("SILICONFLOW_BASE_URL", "api.siliconflow.cn", "must be an http(s) URL"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load({variable: value})


def test_the_key_never_appears_in_repr() -> None:
    settings = Settings.load({"SILICONFLOW_API_KEY": "sk-very-secret", "SILICONFLOW_MCP_TOKEN": "tok-secret"})
    assert "sk-very-secret" not in repr(settings) and "tok-secret" not in repr(settings)
    assert "sk-very-secret" not in str(settings.api_key)


def test_flags_win_over_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SILICONFLOW_DEFAULT_MODEL", "from-env")
    monkeypatch.setenv("SILICONFLOW_TIMEOUT", "99")
    options = build_parser().parse_args(
        ["--default-model", "from-flag", "--image-dir", str(tmp_path), "--structured-output", "false"]
    )
    settings = settings_from_args(options)
    assert settings.default_model == "from-flag"
    assert settings.timeout == 99
    assert settings.image_dir == tmp_path
    assert settings.structured_output is False


def test_default_image_dir_is_never_the_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir("/")
    assert default_image_dir() == tmp_path / ".local/share/mcp-server-siliconflow-image/images"
    (tmp_path / "Pictures").mkdir()
    assert default_image_dir() == tmp_path / "Pictures" / "SiliconFlow"


def test_input_dirs_default_by_transport(tmp_path: Path) -> None:
    assert Settings(image_dir=tmp_path, transport="http").allowed_input_dirs() == ()
    assert Settings(image_dir=tmp_path).allowed_input_dirs() == (Path.home(), tmp_path)


def test_a_timeout_of_nan_stops_the_server_at_start() -> None:
    """SILICONFLOW_TIMEOUT=nan is a bad value like any other: it stops the server at start, naming the variable,
    instead of starting one whose every deadline is NaN."""
    with pytest.raises(SettingsError, match="SILICONFLOW_TIMEOUT"):
        Settings.load({"SILICONFLOW_TIMEOUT": "nan"})


@pytest.mark.anyio
async def test_an_invisible_character_in_the_key_is_named_not_an_unexpected_failure(
    standin: RunningStandIn, settings: Settings
) -> None:
    """A key pasted with a zero-width space (which strip() keeps, and no HTTP header can carry) is named as a
    SILICONFLOW_API_KEY problem before any request, not reported as an unexpected failure inside the server."""
    result = await generate(dataclasses.replace(settings, api_key=Secret(API_KEY + "\u200b")))
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "UnicodeEncodeError" not in text, text
    assert "SILICONFLOW_API_KEY" in text, text
    assert standin.state.requests == []
