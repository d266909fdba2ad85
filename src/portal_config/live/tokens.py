"""Where the tokens come from: environment variables by default, or a target's token command.

    targets:
      production:
        base_url: https://www.werkbonapp.nl/openapi/8/
        token_command: [op, read, "op://ops/outsmart/token"]      # argv, never a shell
        software_token_env: OUTSMART_SOFTWARE_TOKEN
        token_command_timeout: 30

The command itself (`TokenCommand`) and the default variable names are part of the
config's value (project/config.py), so they are spelled once. `read_token` runs only
when diff, apply or pull opens a client.

A command's output is the secret, so nothing it prints is ever shown: not stdout
(the token, or something close to it when the command misbehaves), and not stderr
either, which password managers fill with item paths, account names and, on a bad
day, a session token. A failure names the program and what went wrong, no more.

What a command may print is bounded: at most MAX_TOKEN_OUTPUT bytes of stdout are read
(a command printing more is stopped), and stderr goes nowhere, so a command that floods
either (`yes tok`) costs no memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from portal_config.errors import UsageError
from portal_config.live.redaction import register_secret
from portal_config.project.config import TokenCommand

# A token is a few dozen characters (a JWT a few KB): 64 KiB is far more than any token,
# and little to hold. A command printing more is broken (or `yes`), and is stopped there.
MAX_TOKEN_OUTPUT = 64 * 1024


class TokenError(UsageError):
    """A token could not be had: its variable is unset, or its command failed.

    A UsageError (exit code 2), as a missing variable has always been: the fix is in
    the user's setup, not in the API. One type, so a caller running many targets can
    report one target's missing credentials and go on with the others.
    """


def read_token(command: TokenCommand) -> str:
    """Run the command (no shell, stdin closed) and return its one line of output.

    The token is registered for redaction before it is returned, so no later message,
    log line or file can carry it even if it never reaches the HTTP client.
    """
    output = _run(command)
    where = f"{command.origin}: '{command.argv[0]}'"
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenError(f"{where} printed output that is not UTF-8 text") from None
    # One trailing line break is how every CLI ends its output (`op read` does, vault's
    # -field= does not); anything more is not a token and must not be guessed at.
    lines = text.splitlines()
    if len(lines) > 1:
        raise TokenError(f"{where} printed {len(lines)} lines; it must print the token alone")
    token = lines[0] if lines else ""
    if not token.strip():
        raise TokenError(f"{where} printed no token")
    register_secret(token)
    return token


def _run(command: TokenCommand) -> bytes:
    where = f"{command.origin}: '{command.argv[0]}'"
    try:
        # A session of its own, so a timeout can kill what the command started too
        # (`sh -c 'op read ...'`): a grandchild holding stdout open would otherwise
        # keep the read of its output waiting after the command itself was killed.
        process = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            stdin=subprocess.DEVNULL,  # a prompt would wait forever in CI; fail instead
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # kept off the terminal, and never held in memory
            start_new_session=True,
        )
    except FileNotFoundError:
        raise TokenError(f"{where} not found") from None
    except PermissionError:
        raise TokenError(f"{where} cannot be run: permission denied") from None
    except OSError as error:
        raise TokenError(
            f"{where} cannot be run: {error.strerror or type(error).__name__}"
        ) from None
    try:
        output = _read_output(process, command.timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise TokenError(
            f"{where} did not finish within {command.timeout:g} s (token_command_timeout)"
        ) from None
    except BaseException:  # Ctrl-C: the command is in its own session and would live on
        _kill(process)
        raise
    if output is None:
        _kill(process)
        raise TokenError(
            f"{where} printed more than {MAX_TOKEN_OUTPUT // 1024} KiB; it must print the "
            "token alone (it was stopped)"
        )
    if process.returncode != 0:
        status = process.returncode
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise TokenError(f"{where} {how}; run it yourself to see why (its output is not shown)")
    return output


def _read_output(process: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    """The command's stdout once it has exited; None past MAX_TOKEN_OUTPUT (still running).

    Raises subprocess.TimeoutExpired (naming ``timeout``) once ``timeout`` seconds have
    passed. The read is on a thread, so that the wait for it can end then on every platform.
    """
    deadline = time.monotonic() + timeout
    stdout = process.stdout
    assert stdout is not None  # Popen(stdout=PIPE)
    read: list[bytes] = []

    def read_and_close() -> None:
        # read(n) returns at end-of-file or once n bytes came: one byte past the cap is
        # enough to know, and memory never holds more. The reader closes the pipe, so a
        # command still writing gets SIGPIPE, and no other thread closes it mid-read.
        with stdout:
            read.append(stdout.read(MAX_TOKEN_OUTPUT + 1))

    reader = threading.Thread(target=read_and_close, daemon=True)
    reader.start()
    reader.join(max(0.0, deadline - time.monotonic()))
    if reader.is_alive():
        raise subprocess.TimeoutExpired(process.args, timeout)
    output = read[0] if read else b""
    if len(output) > MAX_TOKEN_OUTPUT:
        return None
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # it names what was left; the command had ``timeout``
        raise subprocess.TimeoutExpired(process.args, timeout) from None
    return output


def _kill(process: subprocess.Popen[bytes]) -> None:
    if hasattr(os, "killpg"):  # POSIX; elsewhere there is no session to clear up
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already
    process.kill()
    process.wait()
