"""The renderers a run streams its progress through (`run.console.Views`), from render's
modules: the CLI puts `VIEWS` in the Console it hands the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal_config.plan.results import PortalResult
from portal_config.plan.value import Plan
from portal_config.problems import Report
from portal_config.render import fleet, lint, plan
from portal_config.run.outcomes import AccountResult


class _Views:
    def plan(self, plan_: Plan, header: str, color: bool) -> str:
        return plan.render_text(plan_, header, color)

    def result(self, result: PortalResult, width: int, color: bool, progress: bool) -> str:
        return plan.render_result(result, width, color, progress)

    def problems(self, report: Report, sources: Mapping[str, str], color: bool) -> str:
        return lint.render_text(report, sources, lint.Style(color))

    def account(self, result: AccountResult[Any], body: str) -> tuple[str, str, str]:
        group, failure = fleet.account_group(result, body)
        return group, fleet.diagnostics(result), failure

    def summary(self, results: list[AccountResult[Any]]) -> str:
        return fleet.summary(results, read=False)


VIEWS = _Views()
