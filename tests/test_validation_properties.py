"""Property: the argument check refuses exactly the values the published schema forbids, naming each field."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.server.mcpserver import MCPServer

from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.surface.argument_errors import ToolArguments
from mcp_server_siliconflow_image.surface.tools import register_tools

RANGES = {
    "batch_size": (1, 4),
    "num_inference_steps": (1, 100),
    "guidance_scale": (0, 20),
    "seed": (0, 9_999_999_999),
    "cfg": (0.1, 20),
}


GENERATE = ToolArguments(register_tools(MCPServer("test"), Runtime(Settings.load({})))["generate_image"])


def check_arguments(arguments: dict[str, Any]) -> list[str]:
    return GENERATE.problems(arguments)


numbers = st.one_of(st.integers(-(10**11), 10**11), st.floats(-1e11, 1e11, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(RANGES)), numbers, max_size=5))
def test_out_of_range_fields_are_exactly_the_refused_ones(values: dict[str, float]) -> None:
    problems = check_arguments({"prompt": "p", **values})
    refused = {problem.split(" ")[0] for problem in problems}
    expected = set()
    for name, value in values.items():
        low, high = RANGES[name]
        integral = name in ("batch_size", "num_inference_steps", "seed")
        if not (low <= value <= high) or (integral and not float(value).is_integer()):
            expected.add(name)
    assert refused == expected
    for problem in problems:
        name = problem.split(" ")[0]
        assert f"from {RANGES[name][0]:g} to {RANGES[name][1]:g}" in problem or f"from {RANGES[name][0]} to" in problem


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=12))
def test_image_size_accepts_only_width_x_height(text: str) -> None:
    problems = check_arguments({"prompt": "p", "image_size": text})
    import re

    # The SDK reads a JSON literal sent as a string ("null") as that value, for the tool too: no size given.
    valid = re.fullmatch(r"[1-9][0-9]{1,4}x[1-9][0-9]{1,4}", text) is not None or text.strip() == "null"
    assert (problems == []) == valid
    if not valid:
        assert problems[0].startswith("image_size must be a string shaped like '1024x1024'")
