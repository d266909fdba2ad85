"""A many-account run's output: each account's group, the summary line and the JSON.

Each account's result is shown in its own group (a heading, its output, its failure);
its diagnostics go to stderr, each line marked with the account, so a CI log of many
accounts stays readable. A one-account repository's run has no group: its output is
shown bare, as it always was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from portal_config import TOOL
from portal_config.errors import ExitCode
from portal_config.escaping import code_span, escape_html, escape_line, escape_markdown, escape_text
from portal_config.plan.reach import Reach, merge_reach
from portal_config.render.reach import headline
from portal_config.run.outcomes import AccountResult, Finished, is_read_success, is_success

FLEET_FORMAT = "portal-config-fleet"
# Version 2: `fan_out`, what each profile edit of a three-way diff reaches over the accounts.
FLEET_VERSION = 2

Results = Sequence[AccountResult[Finished]]


def account_heading(account: str | None, markdown: bool) -> str:
    """The heading of one account's part of a many-account output."""
    if markdown:
        return f"## Account {escape_markdown(str(account))}\n\n"
    return f"=== account {escape_text(str(account))} ===\n"


def fleet_headline(reaches: Iterable[Reach], markdown: bool) -> str:
    """What each profile edit reaches over every account (their plans' reaches), as the
    lines that head the accounts' output; empty without a profile edit."""
    return "".join(line + "\n" for line in headline(merge_reach(reaches), markdown))


def account_group(
    result: AccountResult[Finished], body: str, markdown: bool = False, folded: bool = False
) -> tuple[str, str]:
    """One account's group: a heading and ``body`` (what it showed), then its failure if
    it failed (shown after its diagnostics, as it happened). ``folded`` markdown shows the
    account as a fold under the fan-out headline: its detail one click away."""
    if markdown and folded:
        # Raw HTML, where markdown is not parsed: the name HTML-escaped, inside <code>.
        summary = f"<summary>Account <code>{escape_html(str(result.account))}</code></summary>"
        text = f"<details>\n{summary}\n\n{body}\n</details>\n\n"
    else:
        text = account_heading(result.account, markdown) + body + ("\n" if body else "")
    if result.error is None:
        return text, ""
    failure = f"account {escape_text(str(result.account))} failed (exit {result.code})"
    if markdown:  # the error quotes servers and paths: each of its lines as code
        # The error is rendered (escaped) already: its values are not escaped again,
        # and escape_line (idempotent) keeps any control out all the same.
        lines = "\n> ".join(code_span(escape_line(line)) for line in result.error.splitlines())
        return text, f"> [!CAUTION]\n> {failure}:\n> {lines}\n\n"
    return text, f"{failure}: {result.error}\n\n"


def diagnostics(result: AccountResult[Finished]) -> str:
    """The account's stderr, each line marked with the account."""
    # The account's console escaped its lines as it wrote them.
    account = escape_text(str(result.account))
    return "".join(f"[{account}] {escape_line(line)}\n" for line in result.diagnostics.splitlines())


def summary(results: Results, read: bool) -> str:
    """The last line: how many accounts ran, changed (diff, drift) or were done, failed."""
    succeeded = is_read_success if read else is_success
    failed = [result for result in results if not succeeded(result.code)]
    text = f"Accounts: {len(results)} run"
    if read:  # diff and drift: which accounts would change
        text += f", {sum(1 for result in results if result.code == ExitCode.CHANGES)} with changes"
    else:
        text += f", {len(results) - len(failed)} done"
    text += f", {len(failed)} failed"
    if failed:
        text += ": " + ", ".join(f"{result.account} (exit {result.code})" for result in failed)
    return text + "."


def refusal_warning(refused: str, markdown: bool) -> str:
    """Why apply would refuse the whole run (the fleet-wide threshold), as a plan says it."""
    warning = f"apply will refuse this without --allow-large-change: {refused}"
    return f"> [!WARNING]\n> {warning}\n\n" if markdown else f"! {warning}\n\n"


def fleet_json(
    command: str,
    accounts: Sequence[tuple[AccountResult[Finished], Any]],
    code: int,
    fan_out: Iterable[Reach] = (),
) -> dict[str, Any]:
    """The fleet's JSON: each account's own JSON (a plan, say) under its name, and what
    each profile edit of a three-way diff reaches over all of them."""
    entries = [
        {
            "account": result.account,
            "exit_code": result.code,
            "error": result.error,
            "result": shown,
        }
        for result, shown in accounts
    ]
    return {
        "format": FLEET_FORMAT,
        "version": FLEET_VERSION,
        "tool": TOOL,
        "command": command,
        "exit_code": code,
        "summary": {
            "accounts": len(entries),
            "failed": sum(1 for entry in entries if entry["error"] is not None),
            "ok": code == ExitCode.OK,
        },
        "fan_out": [reach.to_json() for reach in merge_reach(fan_out)],
        "accounts": entries,
    }
