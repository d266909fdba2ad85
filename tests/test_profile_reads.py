"""Profiles at fleet size: a run over many accounts reads the repository's profiles once,
a portal sharing its chain of profiles with others still gets data of its own, and a
profile changed between two runs in one process is read again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import Invoke, Write
from portal_config.lint import profiles
from portal_config.lint.document import Document
from portal_config.lint.reader import parse, read_raw

HOUSE = "profile: house\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n"
FLEET = "extends: [house]\naccounts:\n  one: {}\n  two: {}\n  three: {}\n"


def fleet(write: Write) -> None:
    write("portal-config.yaml", FLEET)
    write("profiles/house.yaml", HOUSE)
    for account in ("one", "two", "three"):
        write(f"accounts/{account}/portals/{account}-a.yaml", f"portal: {account}-a\n")
        write(f"accounts/{account}/portals/{account}-b.yaml", f"portal: {account}-b\n")


def test_a_fleet_lint_reads_each_shared_profile_once(
    write: Write, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet(write)
    reads: Counter[str] = Counter()

    def counted(path: Path | str, shown: str, repository: object) -> object:
        reads[shown] += 1
        return read_raw(path, shown, repository)  # type: ignore[arg-type]

    monkeypatch.setattr(profiles, "read_raw", counted)
    result = invoke("lint")
    assert result.exit_code == 0, result.output
    assert "7 files checked" in result.output  # six portals and the profile, once
    assert reads == {"profiles/house.yaml": 1}
    invoke("lint")  # a second run reads it again: nothing is kept between runs
    assert reads == {"profiles/house.yaml": 2}


def test_a_profile_changed_between_two_runs_is_read_again(write: Write, invoke: Invoke) -> None:
    fleet(write)
    assert invoke("lint").exit_code == 0
    # The same length, so neither the size nor the bytes' cache can mistake it.
    write("profiles/house.yaml", HOUSE.replace("enabled", "enabeld"))
    result = invoke("lint")
    assert result.exit_code == 1
    assert "profiles/house.yaml:3:3: error [schema] unknown key 'enabeld'" in result.output


def test_portals_sharing_a_chain_get_settings_of_their_own() -> None:
    loaded = profiles.profiles_from([parse(HOUSE.encode(), "profiles/house.yaml")], ("house",))
    first = loaded.effective(Document("portals/a.yaml", {"portal": "a"}))
    second = loaded.effective(Document("portals/b.yaml", {"portal": "b"}))
    assert first.data == {
        "portal": "a",
        "guest_workorder": {"enabled": True, "work_types": ["Storing"]},
    }
    assert second.data["portal"] == "b"
    assert first.data["guest_workorder"] is not second.data["guest_workorder"]
    assert first.resolution is not None and second.resolution is not None
    assert first.resolution.settings == second.resolution.settings
    own = loaded.effective(
        Document("portals/c.yaml", {"portal": "c", "guest_workorder": {"enabled": False}})
    )
    assert own.data["guest_workorder"] == {"enabled": False, "work_types": ["Storing"]}
    assert own.resolution is not None
    setting = own.resolution.settings[("guest_workorder", "enabled")]
    assert (setting.origin.file, setting.overrode and setting.overrode.value) == (
        "portals/c.yaml",
        True,
    )
    # The portal's override is its own: the chain's other portals still inherit true.
    again = loaded.effective(Document("portals/d.yaml", {"portal": "d"}))
    assert again.data["guest_workorder"]["enabled"] is True
