"""One path from the selected accounts to the output and the exit code, for diff, drift
and pull: a one-account repository is a run of one, shown bare; many accounts are shown
in groups, with a summary line (or one JSON document)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic

from portal_config.plan.reach import Reach
from portal_config.project.config import Config
from portal_config.render.fleet import (
    account_group,
    diagnostics,
    fleet_headline,
    fleet_json,
    refusal_warning,
    summary,
)
from portal_config.run.console import Console
from portal_config.run.fleet import T, Task, check_paths, fleet_refusal, run_accounts, selection
from portal_config.run.options import RunOptions
from portal_config.run.outcomes import AccountResult, Finished, exit_code
from portal_config.storage import json_text


@dataclass(frozen=True)
class Shown(Generic[T]):
    """How a command shows one account's value: as text or markdown (``text``), in a
    fleet's JSON (``json``); ``changed`` counts its portals against the fleet-wide
    threshold (diff only); ``read`` says changes found are a success (diff, drift);
    ``reach`` is what its profile edits reach (a three-way diff only)."""

    text: Callable[[T], str]
    json: Callable[[T], Any] = field(default=lambda value: None)
    changed: Callable[[T], int] | None = None
    read: bool = True
    reach: Callable[[T], Sequence[Reach]] | None = None


def run_and_show(
    command: str,
    config: Config,
    paths: Sequence[Path],
    options: RunOptions,
    task: Task[T],
    shown: Shown[T],
    console: Console,
    output_format: str = "text",
    files: Sequence[tuple[str, Path | None]] = (),
) -> int:
    """``task`` on every selected account; ``files`` are path options, which need
    ``{account}`` with several accounts (checked before any request)."""
    selected = selection(config, options.accounts, paths)
    check_paths(files, len(selected) > 1)
    results = run_accounts(config, selected, task, console, options.parallel)
    if None in selected:  # the one account, shown as it always was: bare
        (result,) = results
        assert result.value is not None  # its failure was raised, not kept
        text = shown.text(result.value)
        if text:
            console.out(text)
        return result.code
    markdown = output_format == "markdown"
    done: list[tuple[AccountResult[Finished], Any]] = []
    changed: dict[str, int] = {}
    reaches: list[Reach] = []
    # A three-way diff's fan-out headline comes first: the groups wait for every account.
    fan_out = shown.reach is not None and options.base_ref is not None
    out = console.out
    held: list[str] = []
    if fan_out and output_format != "json":
        out = held.append
    for result in results:
        value = result.value
        if value is not None and shown.changed is not None:
            changed[str(result.account)] = shown.changed(value)
        if value is not None and shown.reach is not None and fan_out:
            reaches.extend(shown.reach(value))
        if output_format == "json":  # printed whole, below; its diagnostics now
            if result.diagnostics:
                console.err(diagnostics(result))
            done.append((_slim(result), shown.json(value) if value is not None else None))
            continue
        body = result.printed + (shown.text(value) if value is not None else "")
        group, failure = account_group(result, body, markdown, folded=fan_out)
        out(group)
        if result.diagnostics:
            console.err(diagnostics(result))
        if failure:
            out(failure)
        done.append((_slim(result), None))  # shown: a thousand plans need not stay in memory
    results_only = [result for result, _ in done]
    code = exit_code(results_only, read=shown.read)
    refused = fleet_refusal(config, changed) if shown.changed is not None else None
    if output_format == "json":
        shown_json = fleet_json(command, done, code, reaches) | {"apply_refusal": refused}
        console.out(json_text(shown_json))
        return code
    if fan_out:
        console.out(fleet_headline(reaches, markdown) + "".join(held))
    if refused is not None:
        console.out(refusal_warning(refused, markdown))
    text = summary(results_only, shown.read)
    console.out((f"**{text}**" if markdown else text) + "\n")
    return code


def _slim(result: AccountResult[T]) -> AccountResult[Finished]:
    return replace(result, value=None, printed="", diagnostics="")
