"""A token sweep: every command and error path, then search all output and files."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke
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
    from portal_config.api import ApiError
    from portal_config.config import load_config
    from portal_config.model import PortalSettings
    from portal_config.targets import open_client, resolve_target

    lines: list[str] = []
    errors: list[str] = []
    target = resolve_target(load_config(), None)
    desired = PortalSettings("gemeente-intern", enabled=True, work_types=("Storing",))
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
