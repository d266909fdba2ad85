"""A three-account sandbox fleet for the alignment report's tests: one baseline profile, an
override with a waiver, one without, a hostile value in a portal file, and a live edit.

    acme   acme-facilities   extends the baseline only               (aligned)
           klimaat-techniek  general.name is HOSTILE_NAME            (local)
    beta   acme-facilities   allow_new_relation: true, with a waiver (waived, widens)
           klimaat-techniek  work_types: [Storing]                   (overridden)
    gamma  acme-facilities   as acme's; live: allow_address_change   (drift, widens, --live)
           klimaat-techniek  as acme's but its own name
"""

from __future__ import annotations

import datetime
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, SOFTWARE_TOKEN
from hostile_strings import HOSTILE
from portal_config.live.api import ClientSettings, OutSmartClient
from portal_config.run.report import (
    AccountAlignment,
    AccountEntry,
    Alignment,
    FieldRow,
    PortalRow,
)
from portal_config.sandbox import Sandbox
from portal_config.settings.model import PortalSettings
from test_fleet import serve_accounts

ACCOUNTS = ("acme", "beta", "gamma")
TOKENS = {name: f"tok-{name}-Rp7w2XsECRET" for name in ACCOUNTS}
# Markup and a closing tag a page must show as text (a portal's name may hold both).
HOSTILE_NAME = "<img src=x onerror=alert(1)></details>evil"
EXPIRES = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()

BASELINE = """\
profile: restrictive
description: Guests report faults and book maintenance; nobody outside creates customers.
guest_workorder:
  enabled: true
  allow_address_change: false
  allow_new_relation: false
  work_types: [Storing, Onderhoud]
locked: [guest_workorder.allow_new_relation]
"""
PORTALS = {
    "acme": {
        "acme-facilities": "portal: acme-facilities\n",
        "klimaat-techniek": f"portal: klimaat-techniek\ngeneral:\n  name: '{HOSTILE_NAME}'\n",
    },
    "beta": {
        "acme-facilities": f"""\
            portal: acme-facilities
            guest_workorder:
              allow_new_relation: true
            acknowledged:
              allow_new_relation: New tenants register through the guest form.
            waivers:
              - field: guest_workorder.allow_new_relation
                owner: jan@beta.example
                reason: New tenants register through the guest form.
                expires: "{EXPIRES}"
            """,
        "klimaat-techniek": "portal: klimaat-techniek\nguest_workorder:\n  work_types: [Storing]\n",
    },
    "gamma": {
        "acme-facilities": "portal: acme-facilities\n",
        "klimaat-techniek": "portal: klimaat-techniek\ngeneral:\n  name: Gamma Klimaat\n",
    },
}


@pytest.fixture(name="report_sandbox")
def sandbox_fixture(tmp_path: Path) -> Iterator[Sandbox]:
    """One sandbox server holding the three accounts, each with its own token."""
    yield from serve_accounts(tmp_path, TOKENS)


def write_fleet(project: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository: the baseline every portal extends, and each account's portals."""
    shutil.rmtree(project / "portals", ignore_errors=True)
    (project / "profiles").mkdir(exist_ok=True)
    (project / "profiles" / "restrictive.yaml").write_text(BASELINE, encoding="utf-8")
    for name, portals in PORTALS.items():
        home = project / "accounts" / name
        (home / "portals").mkdir(parents=True)
        shutil.copy(REPO / "worktypes.yaml", home / "worktypes.yaml")
        for portal, text in portals.items():
            path = home / "portals" / f"{portal}.yaml"
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        monkeypatch.setenv(f"OUTSMART_TOKEN_{name.upper()}", TOKENS[name])
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    (project / "portal-config.yaml").write_text(
        "default_target: test\n"
        "extends: [restrictive]\n"
        "targets:\n"
        "  test:\n"
        f"    base_url: {url}\n"
        "    retries: 1\n"
        "    backoff: 0.01\n"
        "accounts:\n" + "".join(f"  {name}:\n" for name in ACCOUNTS),
        encoding="utf-8",
    )
    return project


def ui_edit(url: str, account: str, portal: str, **guest: object) -> None:
    """What a click in OutSmart's UI does: the portal's guest settings replaced over HTTP."""
    settings = ClientSettings()
    with OutSmartClient(url, TOKENS[account], SOFTWARE_TOKEN, settings) as client:
        current = client.get_portal(portal)
        fields = {**current.settings.comparable()["guest_workorder"], **guest}
        client.replace_portal(
            PortalSettings.of(portal, {"guest_workorder": fields}), current.revision
        )


def hostile_report() -> Alignment:
    """Every hostile string as an account, a portal, a file, a value and a source."""

    def portal(index: int, text: str) -> PortalRow:
        row = FieldRow("general.name", text, f"{text}:3", None, "local", False, live=text)
        return PortalRow(f"p{index}{text}", text, (text,), (row,), 7)

    entries = tuple(
        AccountEntry(text, AccountAlignment((portal(i, text),), "2026-12-04T10:00:00+00:00"))
        for i, text in enumerate(HOSTILE.values())
    )
    failed = AccountEntry("broken", None, "api error: " + HOSTILE["img-tag"], 4)
    return Alignment(
        ("general.name",), (*entries, failed), "2026-12-04T10:00:01+00:00", None, False, True
    )
