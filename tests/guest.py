"""Guest-section settings for tests, spelled as the tests think of them."""

from __future__ import annotations

from typing import Any

from portal_config.settings.model import PortalSettings

GUEST = "guest_workorder"
FLAGS = ("allow_address_change", "allow_new_relation", "allow_requests_for_others")


def guest_settings(
    portal: str,
    enabled: bool,
    *,
    allow_address_change: bool = False,
    allow_new_relation: bool = False,
    allow_requests_for_others: bool = False,
    work_types: tuple[str, ...] = (),
) -> PortalSettings:
    """Settings that manage the whole guest section, as a portal file does."""
    fields: dict[str, Any] = {
        "enabled": enabled,
        "allow_address_change": allow_address_change,
        "allow_new_relation": allow_new_relation,
        "allow_requests_for_others": allow_requests_for_others,
        "work_types": work_types,
    }
    return PortalSettings.of(portal, {GUEST: fields})


def guest(settings: PortalSettings, field: str) -> Any:
    """One guest field of ``settings``."""
    return settings.value(GUEST, field)
