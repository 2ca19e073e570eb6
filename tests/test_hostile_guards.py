"""No guard can be bypassed: DNS that changes its answer, IPv6 addresses hiding IPv4 ones, files swapped for
symlinks between check and read, symlinks planted in the image folder, and error messages as an oracle."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import shutil
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.pipeline import inputs
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import allow_loopback_as_public, edit, first_text, stdio_params, unused_port
from tests.images import encode

pytestmark = pytest.mark.anyio


async def test_the_checked_address_is_the_one_connected_to(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebinding resolver: public-looking first, then the metadata address. Only the first answer counts."""
    answers = [["127.0.0.1"], ["169.254.169.254"]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    allow_loopback_as_public(monkeypatch)
    monkeypatch.setattr(inputs, "resolve_host", rebinding)
    png = encode("PNG")
    standin.state.static_files["in.png"] = png
    port = standin.origin.rsplit(":", 1)[1]
    result = await edit(settings, image=f"http://images.rebind.test:{port}/static/in.png")
    assert not result.is_error, first_text(result)
    assert asked == ["images.rebind.test"]  # resolved once; nothing re-resolves behind the check
    assert standin.state.static_hosts == [f"images.rebind.test:{port}"]  # the server still saw its own name
    assert standin.state.requests[0]["image"] == f"data:image/png;base64,{base64.b64encode(png).decode()}"


async def test_a_redirect_is_resolved_and_checked_again(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"cdn.example.test": ["127.0.0.1"], "evil.example.test": ["127.0.0.1", "10.0.0.7"]}[host]

    allow_loopback_as_public(monkeypatch)
    monkeypatch.setattr(inputs, "resolve_host", resolver)
    port = standin.origin.rsplit(":", 1)[1]
    target = f"http://evil.example.test:{port}/static/in.png"
    result = await edit(settings, image=f"http://cdn.example.test:{port}/redirect?to={target}")
    assert result.is_error
    assert "evil.example.test resolves to 10.0.0.7" in first_text(result)  # one bad answer among good ones
    assert standin.state.static_hosts == [] and standin.state.requests == []


async def test_a_redirect_to_no_valid_url_is_an_input_error(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    allow_loopback_as_public(monkeypatch)
    monkeypatch.setattr(inputs, "resolve_host", resolver)
    port = standin.origin.rsplit(":", 1)[1]
    result = await edit(settings, image=f"http://cdn.example.test:{port}/redirect?to=http://[invalid/in.png")
    assert result.is_error
    message = first_text(result)
    assert "redirected to a location that is not a valid URL" in message and "unexpected" not in message
    assert standin.state.requests == []


@pytest.mark.parametrize(
    ("host", "inner"),
    [
        ("[::7f00:1]", "127.0.0.1"),  # IPv4-compatible
        ("[::ffff:0:a00:1]", "10.0.0.1"),  # IPv4-translated
        ("[64:ff9b::a9fe:a9fe]", "169.254.169.254"),  # NAT64 to the cloud metadata service
        ("[2002:c0a8:101::1]", "192.168.1.1"),  # 6to4
        ("[::ffff:127.0.0.1]", "127.0.0.1"),  # IPv4-mapped
    ],
)
async def test_ipv6_forms_that_embed_ipv4_are_judged_by_the_ipv4_inside(
    standin: RunningStandIn, settings: Settings, host: str, inner: str
) -> None:
    result = await edit(settings, image=f"http://{host}/x.png")
    assert result.is_error
    assert f"resolves to {inner}, a loopback, private, link-local or reserved address" in first_text(result)
    assert standin.state.requests == []


async def test_an_input_url_that_trickles_is_abandoned_within_its_time_bound(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback_as_public(monkeypatch)
    monkeypatch.setattr(inputs, "INPUT_DOWNLOAD_SECONDS", 1.0)
    standin.state.static_files["in.png"] = encode("PNG", (200, 200))
    standin.state.faults.append(Fault(target="static", kind="trickle", delay=0.05))
    result = await edit(settings, image=f"{standin.origin}/static/in.png")
    assert result.is_error
    assert "took longer than 1 s; send the image as base64" in first_text(result)
    assert standin.state.requests == []


async def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(
    standin: RunningStandIn, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = tmp_path / "inputs"
    (allowed / "album").mkdir(parents=True)
    (allowed / "album" / "photo.png").write_bytes(encode("PNG"))
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "photo.png").write_bytes(encode("PNG", (99, 99)))  # what the attacker wants sent to the provider
    real_realpath = os.path.realpath

    def check_then_swap(path: str | os.PathLike[str]) -> str:
        checked = real_realpath(path)
        if str(path).endswith("photo.png"):  # the attacker acts right after the check
            shutil.rmtree(allowed / "album")
            os.symlink(secret, allowed / "album")
        return checked

    monkeypatch.setattr(os.path, "realpath", check_then_swap)
    result = await edit(settings, image=str(allowed / "album" / "photo.png"))
    assert result.is_error
    assert "changed while it was being opened" in first_text(result)
    assert standin.state.requests == []


async def test_errors_do_not_tell_which_files_exist_outside_the_allowed_folders(
    standin: RunningStandIn, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "exists.png").write_bytes(encode("PNG"))
    existing = first_text(await edit(settings, image=str(tmp_path / "exists.png")))
    missing = first_text(await edit(settings, image=str(tmp_path / "missing.png")))
    assert existing.replace("exists", "X") == missing.replace("missing", "X")
    assert "outside the folders this server may read" in existing


@pytest.mark.slow
async def test_resources_never_follow_a_symlink_out_of_the_image_folder(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path, tmp_path: Path
) -> None:
    image_dir.mkdir(parents=True)
    outside = tmp_path / "private.png"
    outside.write_bytes(encode("PNG"))
    os.symlink("/etc/passwd", image_dir / "20990101-000000-000000_seed1_1.png")
    os.symlink(outside, image_dir / "20990101-000000-000000_seed2_1.png")
    async with Client(stdio_params(server_env)) as client:
        listed = await client.list_resources()
        assert listed.resources == []  # not listed, not even with a size
        for name in ("20990101-000000-000000_seed1_1.png", "20990101-000000-000000_seed2_1.png"):
            with pytest.raises(MCPError):
                await client.read_resource(f"siliconflow-image://images/{name}")


async def test_an_image_path_under_an_unknown_user_home_is_a_clear_input_error(
    standin: RunningStandIn, settings: Settings
) -> None:
    """`~nosuchuser/cat.png` (a home folder that cannot be found) is refused as a bad `image`, before any request,
    not reported as an unexpected failure inside the server."""
    result = await edit(settings, image="~nosuchuser-a10/cat.png")
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "RuntimeError" not in text, text
    assert text.startswith("image"), text
    assert standin.state.requests == []


async def test_an_input_url_the_http_client_cannot_parse_is_a_clear_input_error(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An input URL that looks like a URL but cannot be fetched as one (a control character, or over 65536
    characters long) is refused as a bad `image`, before any request, not reported as an unexpected failure."""
    allow_loopback_as_public(monkeypatch)
    port = unused_port()
    for url in (f"http://127.0.0.1:{port}/a\x01b.png", f"http://127.0.0.1:{port}/" + "a" * 70_000):
        result = await edit(settings, image=url)
        assert result.is_error
        text = first_text(result)
        assert "failed unexpectedly" not in text and "InvalidURL" not in text, text[:300]
        assert text.startswith("image"), text[:300]
    assert standin.state.requests == []


def test_a_site_local_ipv6_address_is_not_fetched() -> None:
    """The deprecated IPv6 site-local range fec0::/10 (reserved, RFC 3879, still routed inside some networks) is
    refused like every other non-public address, although Python 3.11's `is_global` calls it global."""
    assert not inputs.address_allowed(ipaddress.ip_address("fec0::1"))
    assert not inputs.address_allowed(ipaddress.ip_address("fec0::a9fe:a9fe"))


@pytest.fixture
def tls_image_host(tmp_path: Path) -> Iterator[tuple[int, Path, list[tuple[str | None, str | None]]]]:
    """An HTTPS server on loopback with a certificate for images.tls.test only (not for 127.0.0.1), serving a PNG;
    yields its port, the certificate, and for each request the TLS server name and the Host header it came with."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.tls.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("images.tls.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen: list[tuple[str | None, str | None]] = []
    server_names: list[str | None] = []
    png = encode("PNG")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((server_names[-1] if server_names else None, self.headers.get("Host")))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _socket, server_name, _context: server_names.append(server_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_file, seen
    finally:
        server.shutdown()
        server.server_close()


async def test_an_https_input_is_fetched_from_the_checked_address_under_its_own_name(
    standin: RunningStandIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tls_image_host: tuple[int, Path, list[tuple[str | None, str | None]]],
) -> None:
    """Connected to the address checked once, the TLS handshake still names the URL's host (SNI), the certificate
    is verified against that name, and the Host header carries it: the fence costs HTTPS hosts nothing."""
    port, cert_file, seen = tls_image_host
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    allow_loopback_as_public(monkeypatch)
    monkeypatch.setattr(inputs, "resolve_host", resolver)
    monkeypatch.setattr(inputs, "tls_context", lambda: ssl.create_default_context(cafile=cert_file))
    result = await edit(settings, image=f"https://images.tls.test:{port}/in.png")
    assert not result.is_error, first_text(result)
    assert asked == ["images.tls.test"]
    assert seen == [("images.tls.test", f"images.tls.test:{port}")]
    assert standin.state.requests[0]["image"] == f"data:image/png;base64,{base64.b64encode(encode('PNG')).decode()}"

    monkeypatch.setattr(inputs, "tls_context", lambda: ssl.create_default_context())  # the test CA is not trusted
    refused = await edit(settings, image=f"https://images.tls.test:{port}/in.png")
    assert refused.is_error and "ConnectError" in first_text(refused), first_text(refused)
