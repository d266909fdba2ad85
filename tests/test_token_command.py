"""Tokens from a command (`op read`, `vault kv get`...): real processes, the real sandbox.

Every command here is a real program run by portal-config (Python via sys.executable, so
the tests need no password manager); nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke, run_cli
from portal_config.sandbox import Sandbox

# What a password manager prints: the token and a line break.
PRINT_TOKEN = [sys.executable, "-c", f"print({TOKEN!r})"]
PRINT_SOFTWARE_TOKEN = [sys.executable, "-c", f"print({SOFTWARE_TOKEN!r})"]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def configure(project: Path, sandbox: Sandbox, **keys: object) -> None:
    """The live project's target, with these keys (JSON is YAML, so argv lists just work)."""
    lines = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in keys.items())
    (project / "portal-config.yaml").write_text(
        f"default_target: test\ntargets:\n  test:\n    base_url: {sandbox.url}\n"
        f"    retries: 0\n{lines}",
        encoding="utf-8",
    )


def timed(invoke: Invoke, *args: str) -> tuple[Result, float]:
    """The command's result, and how many seconds it took."""
    started = time.monotonic()
    result = invoke(*args)
    return result, time.monotonic() - started


@pytest.fixture
def no_token_env(live_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The live project with neither token variable set: only commands can supply them."""
    monkeypatch.delenv("OUTSMART_TOKEN")
    monkeypatch.delenv("OUTSMART_SOFTWARE_TOKEN")
    return live_project


def test_diff_and_apply_use_the_tokens_the_commands_print(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    configure(
        no_token_env,
        sandbox,
        token_command=PRINT_TOKEN,
        software_token_command=PRINT_SOFTWARE_TOKEN,
    )
    assert invoke("diff").exit_code == 3
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0
    assert invoke("diff").exit_code == 0
    pulled = invoke("pull", "--dir", "pulled")
    assert pulled.output.splitlines()[0] == (
        f"Target: test {sandbox.url}: reading the account of the token in "
        "targets.test.token_command"
    )


def test_one_token_from_a_command_the_other_from_its_variable(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(no_token_env, sandbox, token_command=PRINT_TOKEN)
    result = invoke("diff")
    assert (result.exit_code, result.output) == (
        2,
        "error: target test: set the environment variable(s) OUTSMART_SOFTWARE_TOKEN\n",
    )
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    assert invoke("diff").exit_code == 3


def test_a_missing_variable_is_reported_before_any_command_runs(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    marker = no_token_env / "ran"
    configure(
        no_token_env, sandbox, token_command=python(f"open({str(marker)!r}, 'w'); print('x' * 9)")
    )
    assert invoke("diff").exit_code == 2
    assert not marker.exists()


def test_a_relative_command_runs_from_the_config_files_directory(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = no_token_env / "scripts" / "token"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\nprint({TOKEN!r})\n", encoding="utf-8")
    script.chmod(0o755)
    configure(
        no_token_env,
        sandbox,
        token_command=["./scripts/token"],
        software_token_command=PRINT_SOFTWARE_TOKEN,
    )
    monkeypatch.chdir(no_token_env / "portals")  # the config is found walking up
    assert invoke("diff").exit_code == 3


def test_a_sandbox_target_takes_its_tokens_from_the_commands(
    project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTSMART_TOKEN", raising=False)
    (project / "portals" / "acme-facilities.yaml").write_text(
        "portal: acme-facilities\nguest_workorder: {enabled: false}\n"
    )
    command = python("print('sandbox-token-from-a-command')")
    (project / "portal-config.yaml").write_text(
        f"targets:\n  sandbox:\n    sandbox: state.json\n    token_command: {json.dumps(command)}\n"
    )
    # The in-process sandbox is started with the command's token, and the client sends it.
    assert invoke("diff").exit_code == 3
    broken = python("import sys; sys.exit(1)")
    (project / "portal-config.yaml").write_text(
        f"targets:\n  sandbox:\n    sandbox: state.json\n    token_command: {json.dumps(broken)}\n"
    )
    assert invoke("diff").exit_code == 2


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["no-such-secret-tool-9f2c"],
            "'no-such-secret-tool-9f2c' not found",
        ),
        (
            # No shell: the whole string is one program name, not `printf` and arguments.
            ["printf %s token-from-a-shell"],
            "'printf %s token-from-a-shell' not found",
        ),
        (
            python(
                f"import sys; print({TOKEN!r}); print('denied: ' + {TOKEN!r}, file=sys.stderr); sys.exit(3)"
            ),
            f"'{sys.executable}' exited with status 3; run it yourself to see why "
            "(its output is not shown)",
        ),
        (
            python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
            f"'{sys.executable}' was killed by signal 9; run it yourself to see why "
            "(its output is not shown)",
        ),
        (python("pass"), f"'{sys.executable}' printed no token"),
        (python("print()"), f"'{sys.executable}' printed no token"),
        (python("print('   ')"), f"'{sys.executable}' printed no token"),
        (
            python(f"print({TOKEN!r}); print({TOKEN!r})"),
            f"'{sys.executable}' printed 2 lines; it must print the token alone",
        ),
        (
            python(f"print({TOKEN!r}); print()"),
            f"'{sys.executable}' printed 2 lines; it must print the token alone",
        ),
        (
            python(f"import sys; sys.stdout.buffer.write({TOKEN.encode()!r} + b'\\xff\\n')"),
            f"'{sys.executable}' printed output that is not UTF-8 text",
        ),
    ],
)
def test_a_failing_command_is_one_line_and_exit_code_2(
    no_token_env: Path,
    sandbox: Sandbox,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    message: str,
) -> None:
    configure(no_token_env, sandbox, token_command=command)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    expected = f"error: targets.test.token_command: {message}\n"
    for args in (("diff",), ("apply", "--yes"), ("pull", "--dir", "pulled")):
        result = invoke(*args)
        assert (result.exit_code, result.output) == (2, expected), args
    assert not (no_token_env / "pulled").exists()


def test_a_failing_commands_output_never_reaches_the_terminal(
    no_token_env: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real process: a command's stdout or stderr that was not captured would show here.
    command = python(
        f"import sys; print({TOKEN!r}); print('denied: ' + {TOKEN!r}, file=sys.stderr); sys.exit(3)"
    )
    configure(no_token_env, sandbox, token_command=command)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    done = run_cli(no_token_env, "diff", env=os.environ)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"error: targets.test.token_command: '{sys.executable}' exited with status 3; run it "
        "yourself to see why (its output is not shown)\n"
    )


def test_a_file_that_is_not_executable_cannot_be_run(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_token_env / "token.sh").write_text("#!/bin/sh\necho token\n", encoding="utf-8")
    configure(no_token_env, sandbox, token_command=["./token.sh"])
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    result = invoke("diff")
    assert (result.exit_code, result.output) == (
        2,
        "error: targets.test.token_command: './token.sh' cannot be run: permission denied\n",
    )


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_hanging_command_is_killed_with_what_it_started(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child's own child inherits stdout: killing only the command would leave the
    # pipe open and portal-config waiting the full 60 s for the grandchild.
    grandchild = "import time; time.sleep(60)"
    command = python(
        f"import subprocess, sys; print({TOKEN!r}, flush=True); "
        f"subprocess.run([sys.executable, '-c', {grandchild!r}])"
    )
    configure(no_token_env, sandbox, software_token_command=command, token_command_timeout=0.5)
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    result, elapsed = timed(invoke, "diff")
    assert (result.exit_code, result.output) == (
        2,
        f"error: targets.test.software_token_command: '{sys.executable}' did not finish "
        "within 0.5 s (token_command_timeout)\n",
    )
    assert elapsed < 10, elapsed


def test_the_command_gets_a_closed_stdin(no_token_env: Path, sandbox: Sandbox) -> None:
    # A command that reads stdin (a prompt) must see end-of-file at once, not wait on a
    # terminal or on whatever stdin portal-config itself was given (here: an open pipe).
    reads = python(f"import sys; sys.stdin.read(); print({TOKEN!r})")
    configure(no_token_env, sandbox, token_command=reads, token_command_timeout=5)
    env = {**os.environ, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}
    env.pop("OUTSMART_TOKEN", None)
    reader, writer = os.pipe()  # held open, never written: a reader of it would block
    try:
        done = subprocess.run(
            [sys.executable, "-m", "portal_config", "diff"],
            cwd=no_token_env,
            env=env,
            stdin=reader,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(reader)
        os.close(writer)
    assert (done.returncode, done.stderr) == (3, "")


def test_a_refused_token_names_the_command_to_check(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    configure(
        no_token_env,
        sandbox,
        token_command=python("print('an-old-revoked-token')"),
        software_token_command=PRINT_SOFTWARE_TOKEN,
    )
    result = invoke("diff")
    assert result.exit_code == 4
    assert result.output.splitlines()[-1] == (
        "api error: GET portals/: OutSmart code 1004: the account token was refused; "
        "check targets.test.token_command"
    )


def test_the_token_is_registered_for_redaction_as_soon_as_it_is_read(tmp_path: Path) -> None:
    from portal_config.live.redaction import redact
    from portal_config.live.tokens import read_token
    from portal_config.project.config import TokenCommand

    # A token no other test registers (the registry lives as long as the process).
    fresh = f"fresh-{os.getpid()}-{time.time_ns()}"
    command = TokenCommand(tuple(python(f"print({fresh!r})")), tmp_path)
    assert redact(f"echoed: {fresh}") == f"echoed: {fresh}"
    assert read_token(command) == fresh
    assert redact(f"echoed: {fresh}") == "echoed: ***"


def test_lint_never_runs_a_token_command_or_imports_jsonschema(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = python(f"open({str(marker)!r}, 'w'); print('x' * 9)")
    (tmp_path / "portal-config.yaml").write_text(
        "targets:\n  prod:\n    base_url: https://x/\n"
        f"    token_command: {json.dumps(command)}\n"
        f"    software_token_command: {json.dumps(command)}\n"
        "    token_command_timeout: 10\n"
    )
    (tmp_path / "portals").mkdir()
    (tmp_path / "portals" / "a.yaml").write_text("portal: a\nguest_workorder: {enabled: false}\n")
    # The precheck must still understand the whole config schema, or every lint would
    # import jsonschema to validate a clean config.
    code = (
        "import sys\n"
        "from portal_config.cli import cli\n"
        "try:\n"
        "    cli(['lint'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'logging')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert not marker.exists()


def _flood(pid_file: Path) -> list[str]:
    """A command that writes its pid down, then prints "tok" lines for as long as it lives,
    64 KiB every 10 ms: slow enough that a reader without a cap fills memory only slowly."""
    return python(
        "import os, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "while True:\n"
        "    sys.stdout.buffer.write(b'tok\\n' * 16384); sys.stdout.flush(); time.sleep(0.01)\n"
    )


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_command_that_floods_its_output_is_stopped_at_64_kib(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reproduction: `yes tok` as a token command was read without limit (15 GB).
    pid_file = no_token_env / "pid"
    configure(no_token_env, sandbox, token_command=_flood(pid_file), token_command_timeout=3)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    result, elapsed = timed(invoke, "diff")
    assert (result.exit_code, result.output) == (
        2,
        f"error: targets.test.token_command: '{sys.executable}' printed more than 64 KiB; "
        "it must print the token alone (it was stopped)\n",
    )
    assert elapsed < 2, elapsed  # stopped at the cap, not at the 3 s timeout
    assert _gone(int(pid_file.read_text()))


def test_yes_as_a_token_command_is_stopped(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    yes = shutil.which("yes")
    if yes is None:
        pytest.skip("no `yes` program here")
    configure(no_token_env, sandbox, token_command=[yes, "tok"], token_command_timeout=5)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    result = invoke("diff")
    assert (result.exit_code, result.output) == (
        2,
        f"error: targets.test.token_command: '{yes}' printed more than 64 KiB; "
        "it must print the token alone (it was stopped)\n",
    )


@pytest.mark.parametrize(("size", "accepted"), [(64 * 1024, True), (64 * 1024 + 1, False)])
def test_the_cap_counts_every_byte_printed(tmp_path: Path, size: int, accepted: bool) -> None:
    from portal_config.live.tokens import TokenError, read_token
    from portal_config.project.config import TokenCommand

    # The token and its line break: a token of 64 KiB less one byte is the longest there is.
    command = TokenCommand(tuple(python(f"print('x' * {size - 1})")), tmp_path)
    if accepted:
        assert read_token(command) == "x" * (size - 1)
    else:
        with pytest.raises(TokenError, match="printed more than 64 KiB"):
            read_token(command)


def test_what_a_command_writes_to_stderr_is_not_held(
    no_token_env: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # 20 MB of stderr, then the token: stderr is never read, so it costs nothing and
    # cannot fill a pipe that would block the command.
    noisy = python(f"import sys; sys.stderr.buffer.write(b'x' * 20_000_000); print({TOKEN!r})")
    configure(
        no_token_env, sandbox, token_command=noisy, software_token_command=PRINT_SOFTWARE_TOKEN
    )
    assert invoke("diff").exit_code == 3


def test_a_command_past_its_timeout_is_reported_with_that_timeout(tmp_path: Path) -> None:
    from portal_config.live.tokens import TokenError, read_token
    from portal_config.project.config import TokenCommand

    command = TokenCommand(tuple(python("import time; time.sleep(30)")), tmp_path, timeout=0.3)
    with pytest.raises(TokenError) as raised:
        read_token(command)
    assert str(raised.value) == (
        f"token_command: '{sys.executable}' did not finish within 0.3 s (token_command_timeout)"
    )
    # What the wait raised names the timeout it was given, never a reading of the clock.
    expired = raised.value.__context__
    assert isinstance(expired, subprocess.TimeoutExpired)
    assert str(expired) == f"Command '{command.argv}' timed out after 0.3 seconds"
