"""A client that leaves a `${user_config.x}` template unfilled must not turn it into a folder or a key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.settings import DEFAULT_BASE_URL, Settings, default_image_dir


def test_unfilled_placeholders_read_as_unset_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "SILICONFLOW_API_KEY": "${user_config.api_key}",
        "SILICONFLOW_BASE_URL": "${user_config.base_url}",
        "SILICONFLOW_DEFAULT_MODEL": "${input:model}",
    }
    with caplog.at_level(logging.WARNING):
        settings = Settings.load(env)
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.default_model == "Kwai-Kolors/Kolors"
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "SILICONFLOW_API_KEY is the unfilled placeholder ${user_config.api_key}" in warned


def test_values_that_merely_contain_a_dollar_brace_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "${not-a-template}-images"
    settings = Settings.load({"SILICONFLOW_IMAGE_DIR": str(folder), "SILICONFLOW_API_KEY": "sk-${x}"})
    assert settings.image_dir == folder.resolve()
    assert settings.api_key is not None and settings.api_key.reveal() == "sk-${x}"


def test_an_unfilled_image_folder_is_kept_so_the_folder_check_refuses_it_by_name() -> None:
    """Paid images must not land in a folder the user did not choose: generation refuses before paying (see
    tests/test_hostile_storage.py), naming SILICONFLOW_IMAGE_DIR and the placeholder."""
    settings = Settings.load({"SILICONFLOW_IMAGE_DIR": "${user_config.image_dir}"})
    assert settings.image_dir != default_image_dir()
    assert str(settings.image_dir).endswith("${user_config.image_dir}")
