"""A sandbox account made from a directory of portal files (`portal-config sandbox --from`).

It lives on the product's side: the sandbox sits below the product and gets the
account as data, so it never imports lint or config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal_config.errors import UsageError
from portal_config.lint.check import lint
from portal_config.project.config_reader import load_config
from portal_config.project.lint_scope import lint_scope
from portal_config.sandbox.account import STATE_VERSION, record_for
from portal_config.settings.model import PortalSettings


def account_from_directory(directory: Path) -> dict[str, Any]:
    """An account holding exactly the valid portal files of ``directory``."""
    run = lint([directory], lint_scope(load_config()))
    if run.report.failed(strict=False):
        errors = sum(1 for p in run.report.problems if p.level.value == "error")
        raise UsageError(
            f"cannot seed the sandbox: {errors} lint error{'s' if errors != 1 else ''} in "
            f"{directory}; "
            f"see `portal-config lint {directory}`"
        )
    portals: dict[str, Any] = {}
    work_types: set[str] = set()
    for document in run.documents:
        settings = PortalSettings.from_file_data(document.data)
        sections = {key: value for key, value in settings.to_json().items() if key != "portal"}
        portals[settings.portal] = record_for(settings.portal, settings.portal, sections)
        for _, one, value in settings.managed():
            if one.work_types:
                work_types.update(value)
    return {"version": STATE_VERSION, "work_types": sorted(work_types), "portals": portals}
