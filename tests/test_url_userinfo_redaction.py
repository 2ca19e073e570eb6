"""What `redact` does with a URL's userinfo, in every shape it is written: the credential goes, the rest of the
text stays, and a megabyte of any shape takes a moment, not minutes (a gateway's error page is redacted on the
event loop)."""

from __future__ import annotations

import time

import pytest

from mcp_server_siliconflow_image.credentials import redact, url_credential
from mcp_server_siliconflow_image.settings import Settings, SettingsError

TOKEN = "gw-tok-3f9a1c7e5b"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"https://{TOKEN}@gw.example/v1", "https://[redacted]@gw.example/v1"),
        (f"https://{TOKEN}:@gw.example/v1", "https://[redacted]@gw.example/v1"),  # curl's `-u token:`
        (f"https://me@corp.example:{TOKEN}@gw.example/v1", "https://me@corp.example:[redacted]@gw.example/v1"),
        ("https://me@corp.example:pw1@gw.example/v1", "https://me@corp.example:[redacted]@gw.example/v1"),
        ("https://a@b@gw.example/v1", "https://[redacted]@gw.example/v1"),
        (f"1.https://{TOKEN}@gw.example/v1", "1.https://[redacted]@gw.example/v1"),
        (f"_https://{TOKEN}@gw.example/v1", "_https://[redacted]@gw.example/v1"),
        (f"HTTPS://user:{TOKEN}@gw.example", "HTTPS://user:[redacted]@gw.example"),
    ],
)
def test_the_credential_in_a_url_is_hidden_however_it_is_written(text: str, shown: str) -> None:
    assert redact(text, []) == shown


@pytest.mark.parametrize(
    "text",
    [
        "mailto:bob@example.com",
        "http://host:8080/path@x",
        "http://host/path?q=a@b",
        "http://host/#frag@x",
        "http://[::1]:8000/mcp",
        "see https://api.example.com/v1 or mail admin@example.com",
        "GET https://a.example/x then https://b.example/y@z",
        "https://host:8080 then user@example.com",
        "s3://bucket/key@2x.png",
    ],
)
def test_texts_without_a_credential_are_kept(text: str) -> None:
    assert redact(text, []) == text


@pytest.mark.parametrize(("base_url", "secret"), [(f"https://{TOKEN}:@gw.example/v1", TOKEN)])
def test_a_token_with_an_empty_password_is_a_secret_wherever_it_appears(base_url: str, secret: str) -> None:
    assert url_credential(base_url) == secret
    echoed = f"gateway says: unknown credential {secret}"
    assert secret not in redact(echoed, Settings(base_url=base_url).secret_values())


@pytest.mark.parametrize("shape", ["a.", "a-", "a+", "x1."])
def test_a_megabyte_of_scheme_characters_is_redacted_in_a_moment(shape: str) -> None:
    text = shape * (1_000_000 // len(shape))
    started = time.perf_counter()
    assert redact(text, [TOKEN]) == text
    assert time.perf_counter() - started < 5  # linear: well under a second; the square of it was minutes


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SILICONFLOW_BASE_URL", f"htps://{TOKEN}@gw.example/v1"),
        ("SILICONFLOW_BASE_URL", f"ws://user:{TOKEN}@gw.example/v1"),
        ("SILICONFLOW_IMAGE_DIR", f"gs://{TOKEN}@bucket/images"),
    ],
)
def test_a_refused_url_is_echoed_without_its_credential(variable: str, value: str) -> None:
    """The refusal is printed at start, before the log's redaction is set up."""
    with pytest.raises(SettingsError) as refused:
        Settings.load({variable: value})
    assert TOKEN not in str(refused.value) and "[redacted]@" in str(refused.value)
