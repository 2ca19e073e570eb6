"""Redacting a secret costs time in proportion to its length, not its square: with an AWS session token in the
environment (aws-vault, CI's OIDC credentials, Lambda put one there; it is a thousand characters), a gateway's
large error page is still answered as a prompt tool error, and the token stays hidden in it."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import first_text, generate, stdio_params

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SESSION_TOKEN = base64.b64encode(b"".join(hashlib.sha512(bytes([n])).digest() for n in range(11))).decode()
"""Like an STS session token: ~940 characters of base64."""


async def test_a_megabyte_error_page_is_redacted_of_a_session_token_within_a_call(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    page = f"upstream said: {SESSION_TOKEN[100:160]} " + "Service temporarily unavailable. " * 32_000
    standin.state.faults.append(Fault(target="generate", status=500, body={"message": page}))
    env = {**server_env, "AWS_SESSION_TOKEN": SESSION_TOKEN}

    result = await generate(stdio_params(env))  # fails as hung when redaction takes over CALL_SECONDS

    said = first_text(result)
    assert result.is_error and "HTTP 500" in said and "upstream said: [redacted]" in said
    assert SESSION_TOKEN[100:108] not in said
