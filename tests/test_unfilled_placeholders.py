"""A client that leaves a `${user_config.x}` template unfilled must not turn it into a folder or a key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.settings import DEFAULT_BASE_URL, Settings, default_image_dir
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.raw_client import RawStdioClient


def test_unfilled_placeholders_read_as_unset_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "SILICONFLOW_API_KEY": "${user_config.api_key}",
        "SILICONFLOW_BASE_URL": "${user_config.base_url}",
        "SILICONFLOW_IMAGE_DIR": " ${user_config.image_dir} ",
        "SILICONFLOW_DEFAULT_MODEL": "${input:model}",
    }
    with caplog.at_level(logging.WARNING):
        settings = Settings.load(env)
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.image_dir == default_image_dir()
    assert settings.default_model == "Kwai-Kolors/Kolors"
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "SILICONFLOW_IMAGE_DIR is the unfilled placeholder ${user_config.image_dir}" in warned
    assert "SILICONFLOW_API_KEY" in warned


def test_values_that_merely_contain_a_dollar_brace_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "${not-a-template}-images"
    settings = Settings.load({"SILICONFLOW_IMAGE_DIR": str(folder), "SILICONFLOW_API_KEY": "sk-${x}"})
    assert settings.image_dir == folder.resolve()
    assert settings.api_key is not None and settings.api_key.reveal() == "sk-${x}"


def test_a_server_given_an_unfilled_image_folder_saves_into_the_default_one(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    env = {**server_env, "SILICONFLOW_IMAGE_DIR": "${user_config.image_dir}"}
    client = RawStdioClient(env)
    try:
        client.handshake()
        answer = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "a kite"}})
    finally:
        stderr = client.close()
    [image] = answer["result"]["structuredContent"]["images"]
    saved = Path(image["path"])
    assert saved.is_file() and "${" not in image["path"]
    assert saved.is_relative_to(Path(server_env["HOME"]))  # the per-user default, not a folder named ${…}
    assert not Path("/${user_config.image_dir}").exists()
    assert "SILICONFLOW_IMAGE_DIR is the unfilled placeholder" in stderr
