"""`mcp-server-siliconflow-image doctor`, run as a user runs it (the installed command), against the stand-in."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_server_siliconflow_image.doctor.clients import check_clients
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import API_KEY, ROOT, server_command, unused_port


def doctor(env: dict[str, str], *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [server_command(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd or env["HOME"],
    )
    return done.returncode, done.stdout, done.stderr


def doctor_json(env: dict[str, str], *flags: str) -> tuple[int, dict[str, Any]]:
    status, stdout, stderr = doctor(env, *flags, "doctor", "--json")
    assert API_KEY not in stdout + stderr and API_KEY[3:11] not in stdout + stderr
    report: dict[str, Any] = json.loads(stdout)  # stdout is the report and nothing else
    return status, report


def verdicts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.slow
def test_a_good_key_on_a_working_endpoint_exits_0_and_says_where_the_images_go(
    server_env: dict[str, str], image_dir: Path
) -> None:
    status, report = doctor_json(server_env)
    checks = verdicts(report)
    assert status == 0 and report["ok"] is True
    assert checks["key"]["verdict"] == "ok" and "balance 88.88" in checks["key"]["detail"]
    assert checks["endpoint"]["verdict"] == "ok" and "Kwai-Kolors/Kolors" in checks["endpoint"]["detail"]
    assert checks["image folder"]["verdict"] == "ok" and str(image_dir) in checks["image folder"]["detail"]
    assert checks["python"]["verdict"] == checks["package"]["verdict"] == "ok"
    assert report["image_dir"] == str(image_dir)
    assert not image_dir.exists()  # the doctor looks; it does not create folders

    status, text, _ = doctor(server_env, "doctor")
    assert status == 0
    assert text.splitlines()[-1] == f"Generating works. Images are saved in {image_dir}"
    assert any(line.startswith("OK    key") for line in text.splitlines())


@pytest.mark.slow
def test_a_wrong_key_fails_with_the_fix_and_is_never_printed(server_env: dict[str, str]) -> None:
    wrong = "sk-wrong-9f8e7d6c5b4a"
    status, stdout, stderr = doctor({**server_env, "SILICONFLOW_API_KEY": wrong}, "doctor", "--json")
    key = verdicts(json.loads(stdout))["key"]
    assert status == 1
    assert key["verdict"] == "fail" and "refused the key (HTTP 401)" in key["detail"]
    assert "cloud.siliconflow.cn/account/ak" in key["fix"]
    assert wrong not in stdout + stderr and wrong[3:11] not in stdout + stderr


@pytest.mark.slow
def test_no_key_fails_and_says_how_to_set_it(server_env: dict[str, str]) -> None:
    env = {name: value for name, value in server_env.items() if name != "SILICONFLOW_API_KEY"}
    status, report = doctor_json(env)
    key = verdicts(report)["key"]
    assert status == 1 and key["verdict"] == "fail" and "SILICONFLOW_API_KEY" in key["fix"]
    assert verdicts(report)["endpoint"]["verdict"] == "ok"  # reachable without a key


@pytest.mark.slow
def test_an_unreachable_base_url_fails_the_endpoint_and_leaves_the_key_unchecked(server_env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{unused_port()}/v1"
    status, report = doctor_json({**server_env, "SILICONFLOW_BASE_URL": base})
    checks = verdicts(report)
    assert status == 1 and report["ok"] is False
    assert checks["endpoint"]["verdict"] == "fail" and base in checks["endpoint"]["detail"]
    assert "SILICONFLOW_BASE_URL" in checks["endpoint"]["fix"]
    assert checks["key"]["verdict"] == "skip"


@pytest.mark.slow
def test_an_image_folder_that_cannot_be_created_fails(server_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, report = doctor_json({**server_env, "SILICONFLOW_IMAGE_DIR": str(blocker / "images")})
    folder = verdicts(report)["image folder"]
    assert status == 1
    assert folder["verdict"] == "fail" and "part of the path is a file" in folder["detail"]
    assert "SILICONFLOW_IMAGE_DIR" in folder["fix"]


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_image_folder_fails(server_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        status, report = doctor_json({**server_env, "SILICONFLOW_IMAGE_DIR": str(folder)})
    finally:
        folder.chmod(stat.S_IRWXU)
    assert status == 1 and "permission denied" in verdicts(report)["image folder"]["detail"]


@pytest.mark.slow
def test_an_existing_folder_is_probed_and_its_images_counted(server_env: dict[str, str], image_dir: Path) -> None:
    image_dir.mkdir()
    (image_dir / "a.png").write_bytes(b"x")
    (image_dir / "b.jpg").write_bytes(b"x")
    (image_dir / "a.png.json").write_text("{}")
    status, report = doctor_json(server_env)
    assert status == 0
    assert "writable" in verdicts(report)["image folder"]["detail"]
    assert "2 images saved there" in verdicts(report)["image folder"]["detail"]
    assert sorted(path.name for path in image_dir.iterdir()) == ["a.png", "a.png.json", "b.jpg"]  # probe removed


@pytest.mark.slow
def test_a_retired_user_info_checks_the_key_with_the_model_list(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.faults.append(Fault(target="user_info", status=404, body={"code": 404, "message": "Not Found"}))
    status, report = doctor_json(server_env)
    key = verdicts(report)["key"]
    assert status == 0
    assert key["verdict"] == "ok" and "checked with GET /models" in key["detail"]
    assert "balance unavailable" in key["detail"]


@pytest.mark.slow
def test_a_retired_user_info_with_a_wrong_key_is_still_a_wrong_key(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.faults.append(Fault(target="user_info", status=404))
    status, report = doctor_json({**server_env, "SILICONFLOW_API_KEY": "sk-wrong-key-123456"})
    # the stand-in checks the key before faults, so /user/info answers 401 here; /models says 401 too
    assert status == 1 and verdicts(report)["key"]["verdict"] == "fail"


@pytest.mark.slow
def test_an_empty_balance_warns_but_free_models_still_generate(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.balance = "0.00"
    status, report = doctor_json(server_env)
    key = verdicts(report)["key"]
    assert status == 0 and key["verdict"] == "warn" and "balance 0.00" in key["detail"]
    assert "Kwai-Kolors/Kolors" in key["fix"]


@pytest.mark.slow
def test_a_gateway_without_the_default_model_warns(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    standin.state.withdrawn_models.add("Kwai-Kolors/Kolors")
    status, report = doctor_json(server_env)
    endpoint = verdicts(report)["endpoint"]
    assert endpoint["verdict"] == "warn" and "SILICONFLOW_DEFAULT_MODEL" in endpoint["fix"]
    assert status == 0


@pytest.mark.slow
def test_a_bad_setting_is_a_failed_check_and_the_rest_still_runs(server_env: dict[str, str]) -> None:
    status, report = doctor_json({**server_env, "SILICONFLOW_TIMEOUT": "soon"})
    checks = verdicts(report)
    assert status == 1
    assert checks["settings"]["verdict"] == "fail" and "SILICONFLOW_TIMEOUT" in checks["settings"]["detail"]
    assert "Claude Desktop" in checks


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.slow
def test_client_configs_in_a_fake_home(server_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(server_env["HOME"])
    bin_dir = tmp_path / "bin"  # a PATH with this server's command but no uvx
    bin_dir.mkdir()
    (bin_dir / "mcp-server-siliconflow-image").symlink_to(server_command())
    write_json(
        home / ".config" / "Claude" / "claude_desktop_config.json",
        {"mcpServers": {"siliconflow-image": {"command": "uvx", "args": ["mcp-server-siliconflow-image"]}}},
    )
    write_json(
        home / ".cursor" / "mcp.json",
        {
            "mcpServers": {
                "images": {
                    "command": server_command(),
                    "args": ["--api-key", "sk-in-args-77665544"],
                    "env": {"SILICONFLOW_API_KEY": "sk-in-env-11223344"},
                },
                "other": {"command": "node", "args": ["other.js"]},
            }
        },
    )
    (home / ".config" / "Code" / "User").mkdir(parents=True)
    (home / ".config" / "Code" / "User" / "mcp.json").write_text('{"servers": {,}}')
    vscode = json.loads((ROOT / "manifests" / "vscode_mcp.json").read_text())
    vscode["servers"]["siliconflow-image"]["command"] = "mcp-server-siliconflow-image"
    vscode["servers"]["siliconflow-image"]["args"] = []
    write_json(home / ".copilot" / "mcp-config.json", {"mcpServers": vscode["servers"]})
    write_json(
        home / ".claude.json",
        {"projects": {"/work/x": {"mcpServers": {"sf": {"command": "mcp-server-siliconflow-image"}}}}},
    )
    project = tmp_path / "project"
    write_json(project / ".vscode" / "mcp.json", {"servers": {"siliconflow-image": {"url": "http://127.0.0.1:1/mcp"}}})

    status, stdout, stderr = doctor({**server_env, "PATH": str(bin_dir)}, "doctor", "--json", cwd=project)
    checks = verdicts(json.loads(stdout))
    assert status == 0  # client configs inform; they do not stop this install from generating
    claude = checks["Claude Desktop"]
    assert claude["verdict"] == "warn" and "starts `uvx mcp-server-siliconflow-image`" in claude["detail"]
    assert "`uvx` is not found" in claude["detail"] and "install uv" in claude["fix"]
    cursor = checks["Cursor"]
    assert cursor["verdict"] == "ok" and server_command() in cursor["detail"]
    assert "--api-key **********" in cursor["detail"]
    assert "sk-in-args" not in stdout and "sk-in-env" not in stdout + stderr
    assert checks["VS Code"]["verdict"] == "warn" and "not valid JSON (line 1" in checks["VS Code"]["detail"]
    code = checks["Claude Code"]
    assert code["verdict"] == "warn" and "without SILICONFLOW_API_KEY" in code["detail"]
    assert checks["VS Code (workspace)"]["verdict"] == "ok" and "connects to http://127.0.0.1:1/mcp" in str(checks)
    assert "Cursor (project)" not in checks  # absent project files are not listed
    copilot = checks["Copilot agent"]
    assert copilot["verdict"] == "ok" and "Copilot's agent harness skips it: use envFile" in copilot["detail"]


@pytest.mark.slow
def test_a_claude_desktop_bundle_install_is_recognised(server_env: dict[str, str]) -> None:
    home = Path(server_env["HOME"])
    bundle = home / ".config" / "Claude" / "Claude Extensions" / "local.mcpb.siliconflow"
    write_json(bundle / "manifest.json", {"name": "mcp-server-siliconflow-image"})
    write_json(home / ".config" / "Claude" / "Claude Extensions" / "other" / "manifest.json", {"name": "other"})
    _, report = doctor_json(server_env)
    found = [check for check in report["checks"] if "MCPB bundle installed" in check["detail"]]
    assert [check["detail"] for check in found] == [
        f"MCPB bundle installed at {bundle} (Claude Desktop starts it itself)"
    ]


def test_on_macos_a_command_only_the_terminal_finds_is_the_classic_failure(tmp_path: Path) -> None:
    home = tmp_path / "home"
    brew = tmp_path / "opt" / "homebrew" / "bin"
    brew.mkdir(parents=True)
    uvx = brew / "uvx"
    uvx.write_text("#!/bin/sh\n")
    uvx.chmod(0o755)
    write_json(
        home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json",
        {
            "mcpServers": {
                "siliconflow-image": {
                    "command": "uvx",
                    "args": ["mcp-server-siliconflow-image"],
                    "env": {"SILICONFLOW_API_KEY": "x"},
                }
            }
        },
    )
    [claude, *_] = check_clients(home, "darwin", {"PATH": str(brew)}, None)
    assert claude.name == "Claude Desktop" and claude.verdict == "warn"
    assert "apps started from the Dock do not see" in claude.detail
    assert claude.fix == f'set "command" to "{uvx}" and restart Claude Desktop'


def test_windows_config_locations_follow_appdata(tmp_path: Path) -> None:
    appdata = tmp_path / "Roaming"
    write_json(appdata / "Claude" / "claude_desktop_config.json", {"mcpServers": {}})
    checks = check_clients(tmp_path, "win32", {"APPDATA": str(appdata), "PATH": ""}, None)
    claude = next(check for check in checks if check.name == "Claude Desktop")
    assert claude.verdict == "skip" and "has no entry for this server" in claude.detail
    assert str(appdata / "Claude" / "claude_desktop_config.json") in claude.detail


@pytest.mark.slow
def test_a_reader_that_stops_early_gets_no_traceback_and_the_verdict_stays(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    with (tmp_path / "stderr").open("w+") as stderr:
        process = subprocess.Popen(
            [server_command(), "doctor"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={"PATH": os.environ.get("PATH", ""), **server_env},
            cwd=server_env["HOME"],
        )
        assert process.stdout is not None
        process.stdout.close()  # like `doctor | true`: nobody reads the report
        status = process.wait(timeout=120)
        stderr.seek(0)
        errors = stderr.read()
    assert status == 0
    assert "Traceback" not in errors and "BrokenPipe" not in errors


@pytest.mark.slow
def test_a_base_url_without_v1_is_not_an_image_api(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    status, report = doctor_json({**server_env, "SILICONFLOW_BASE_URL": standin.origin})
    endpoint = verdicts(report)["endpoint"]
    assert status == 1
    assert endpoint["verdict"] == "fail" and "is not an image API" in endpoint["detail"]
    assert "ending in /v1" in endpoint["fix"]
    assert not standin.state.images  # nothing was generated


@pytest.mark.slow
def test_a_gateway_without_model_list_or_account_is_confirmed_by_an_empty_request(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.models_route = False
    standin.state.faults.append(Fault(target="user_info", status=404))
    status, report = doctor_json(server_env)
    checks = verdicts(report)
    assert status == 0
    assert checks["endpoint"]["verdict"] == "ok" and "its image API answers" in checks["endpoint"]["detail"]
    assert checks["key"]["verdict"] == "ok" and "POST /images/generations" in checks["key"]["detail"]
    assert standin.state.requests == [{}] and not standin.state.images  # refused: nothing generated, nothing paid


@pytest.mark.slow
def test_an_account_answer_that_is_not_json_still_checks_the_key(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.faults.append(Fault(target="user_info", status=200, body="<html>maintenance</html>"))
    status, report = doctor_json(server_env)
    key = verdicts(report)["key"]
    assert status == 0
    assert key["verdict"] == "ok" and "balance unavailable" in key["detail"] and "expected format" in key["detail"]


@pytest.mark.slow
def test_a_stuck_account_lookup_is_bounded_and_the_key_checked_another_way(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.faults.append(Fault(target="user_info", delay=12))
    status, report = doctor_json(server_env)  # returns (the lookup gives up after 10 s), within the 120 s guard
    key = verdicts(report)["key"]
    assert status == 0 and key["verdict"] == "ok" and "checked with GET /models" in key["detail"]


@pytest.mark.slow
@pytest.mark.parametrize("pasted", ["sk-abc\u201cdef\u201d", "sk-abc def", "sk-abc\tdef", "sk-密钥"])
def test_a_key_pasted_with_characters_no_header_can_carry_is_refused_before_any_request(
    standin: RunningStandIn, server_env: dict[str, str], pasted: str
) -> None:
    status, stdout, stderr = doctor({**server_env, "SILICONFLOW_API_KEY": pasted}, "doctor", "--json")
    key = verdicts(json.loads(stdout))["key"]
    assert status == 1 and key["verdict"] == "fail" and "HTTP header cannot carry" in key["detail"]
    assert "Traceback" not in stderr and pasted not in stdout + stderr
    assert standin.state.requests == []


@pytest.mark.slow
def test_a_config_saved_with_a_byte_order_mark_is_read(server_env: dict[str, str]) -> None:
    config = Path(server_env["HOME"]) / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    entry = {"mcpServers": {"siliconflow-image": {"command": server_command(), "env": {"SILICONFLOW_API_KEY": "x"}}}}
    config.write_text(json.dumps(entry), encoding="utf-8-sig")
    _, report = doctor_json(server_env)
    assert verdicts(report)["Cursor"]["verdict"] == "ok"


@pytest.mark.slow
def test_doctor_checks_a_bucket_image_store_the_way_generation_does(
    server_env: dict[str, str], s3_env: dict[str, str]
) -> None:
    good = {**server_env, **s3_env, "SILICONFLOW_IMAGE_DIR": f"s3://{s3_env['S3_BUCKET']}/team"}
    status, report = doctor_json(good)
    assert verdicts(report)["image store"]["verdict"] == "ok", verdicts(report)["image store"]
    missing = {**good, "SILICONFLOW_IMAGE_DIR": "s3://no-such-bucket-doctor/team"}
    status, report = doctor_json(missing)
    assert status != 0 and verdicts(report)["image store"]["verdict"] == "fail"
