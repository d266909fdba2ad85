"""A token sweep: every command and error path, then search all output and files."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke, run_cli
from guest import guest_settings
from portal_config.sandbox import Faults, Sandbox

SECRETS = (TOKEN, SOFTWARE_TOKEN)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tokens_never_appear_in_output_logs_or_files(
    live_project: Path,
    sandbox: Sandbox,
    invoke: Invoke,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every retried URL at DEBUG
    outputs: list[str] = []
    codes: list[int] = []

    def run(*args: str) -> None:
        result = invoke(*args)
        outputs.append(result.output)
        codes.append(result.exit_code)

    run("diff")
    run("diff", "--format", "json", "--out", "plan.json")
    run("diff", "--format", "markdown")
    sandbox.state.edit("secura-alarm", work_types=["Storing"])
    run("apply", "plan.json", "--yes", "--report", "stale-report.json")  # stale plan
    run("apply")  # no tty, no --yes
    run("apply", "--yes", "--allow-large-change", "--report", "report.json")
    run("pull", "--dir", "pulled", "--force", "--verbose")  # the request log, too
    sandbox.set_faults(Faults(error_rate=1.0, seed=2))
    run("diff", "--verbose")  # 5xx until the client gives up, with retry lines
    run("pull", "--dir", "pulled2")
    sandbox.set_faults(Faults(conflict_rate=1.0, lost_write_rate=0.5, seed=3))
    (live_project / "portals" / "gemeente-intern.yaml").write_text(
        "portal: gemeente-intern\nguest_workorder: {enabled: true, work_types: [Storing]}\n"
    )
    run("apply", "--yes", "--allow-large-change", "--report", "conflict-report.json", "-v")
    sandbox.set_faults(Faults())
    monkeypatch.setenv("OUTSMART_TOKEN", "wrong-" + TOKEN)
    run("diff")  # 401
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    config = live_project / "portal-config.yaml"
    config.write_text(
        config.read_text().replace(sandbox.url, f"http://127.0.0.1:{_free_port()}/openapi/8/")
    )
    run("diff")  # unreachable
    config.write_text(config.read_text().replace("deadline: 60", "deadline: 0.000001"))
    run("diff")  # deadline passed
    config.write_text(
        config.read_text()
        .replace("deadline: 0.000001", "deadline: 60\n    timeout: 0.05")
        .replace(config.read_text().split("base_url: ")[1].split("\n")[0], sandbox.url)
    )
    sandbox.set_faults(Faults(latency_ms=300))
    run("diff")  # read timeouts
    sandbox.set_faults(Faults(drop_rate=1.0))
    run("diff")  # connections closed mid-answer

    assert codes == [3, 3, 3, 5, 5, 0, 0, 4, 4, 6, 4, 4, 4, 4, 4]
    assert "within 0.05 s (gave up after 2 attempts)" in outputs[-2]
    assert "the server closed the connection mid-answer" in outputs[-1]
    for text in outputs + [record.getMessage() for record in caplog.records]:
        for secret in SECRETS:
            assert secret not in text
    written = [p for p in live_project.rglob("*") if p.is_file()] + [
        p for p in sandbox.state.path.parent.rglob("*")
    ]
    assert any(p.name == "report.json" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, path


def test_tokens_never_appear_in_retry_lines_or_the_request_log(
    live_project: Path, sandbox: Sandbox
) -> None:
    from portal_config.live.api import ApiError
    from portal_config.project.config_reader import load_config
    from portal_config.run.targets import open_client, resolve_target

    lines: list[str] = []
    errors: list[str] = []
    target = resolve_target(load_config(), None)
    desired = guest_settings("gemeente-intern", enabled=True, work_types=("Storing",))
    scenarios = [
        Faults(),
        Faults(error_rate=1.0, seed=1),
        Faults(envelope_error_rate=1.0, seed=1),
        Faults(throttle_rate=0.5, seed=2),
        Faults(drop_rate=1.0),
        Faults(conflict_rate=1.0, lost_write_rate=0.5, seed=3),
    ]
    for faults in scenarios:
        sandbox.set_faults(faults)
        with open_client(target, say=lines.append, trace=lines.append) as client:
            for call in (client.list_portals, lambda: client.replace_portal(desired, 1)):
                try:
                    call()
                except ApiError as error:
                    errors.append(str(error))
    assert any(" -> HTTP 200 code 200 (" in line for line in lines)
    assert any(line.startswith("retrying GET portals/ ") for line in lines)
    assert any("OutSmart code 1007" in line for line in lines)
    for text in lines + errors:
        assert "token=***&software_token=***" in text or "token" not in text
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.slow  # a dozen real processes, each running token commands
def test_tokens_from_commands_never_appear_in_output_or_files(
    live_project: Path, sandbox: Sandbox
) -> None:
    """The sweep again with both tokens from token commands, in real processes.

    Real processes: each starts with an empty redaction registry (in-process, earlier
    tests' registrations would hide a missing one), and a command's stderr that was
    not captured would land in the output searched here. The commands read the tokens
    from a variable portal-config does not know, as `op` reads its service account's,
    so no token is written into portal-config.yaml.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSMART_")}
    env["STORE_TOKEN"], env["STORE_SOFTWARE_TOKEN"] = TOKEN, SOFTWARE_TOKEN
    printing = "import os, sys; print(os.environ[sys.argv[1]])"
    token = [sys.executable, "-c", printing, "STORE_TOKEN"]
    software_token = [sys.executable, "-c", printing, "STORE_SOFTWARE_TOKEN"]
    config = live_project / "portal-config.yaml"
    base = config.read_text()
    outputs: list[str] = []
    codes: list[int] = []

    def run(*args: str, token_command: list[str] = token) -> None:
        config.write_text(
            base
            + f"    token_command: {json.dumps(token_command)}\n"
            + f"    software_token_command: {json.dumps(software_token)}\n"
            + "    token_command_timeout: 2\n"
        )
        done = run_cli(live_project, *args, env=env)
        outputs.append(done.stdout + done.stderr)
        codes.append(done.returncode)

    run("diff", "--verbose")
    run("diff", "--format", "json", "--out", "plan.json")
    run("apply", "plan.json", "--yes", "--allow-large-change", "--report", "report.json", "-v")
    run("pull", "--dir", "pulled", "--force", "--verbose")
    sandbox.set_faults(Faults(error_rate=1.0, seed=2))
    run("diff", "--verbose")  # retried 5xx, then an API error
    sandbox.set_faults(Faults())
    env["STORE_TOKEN"] = "wrong-" + TOKEN
    run("diff", "--verbose")  # 401: the refused token is a secret too
    env["STORE_TOKEN"] = TOKEN
    # Commands that print the token and then fail: on stdout and stderr, twice, or hang.
    stored = "import os, sys, time; t = os.environ['STORE_TOKEN']; "
    for failing in (
        "print(t); print(t, file=sys.stderr); sys.exit(1)",
        "print(t); print(t)",
        "print(t, flush=True); time.sleep(60)",  # killed after 2 s
    ):
        run("diff", token_command=[sys.executable, "-c", stored + failing])

    assert codes == [3, 3, 0, 0, 4, 4, 2, 2, 2]
    assert "did not finish within 2 s" in outputs[-1]
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text, text
    written = [p for p in live_project.rglob("*") if p.is_file()]
    written += [p for p in sandbox.state.path.parent.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, path
