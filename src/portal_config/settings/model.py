"""The portal settings model shared by files, plans, the API adapter and the sandbox.

`PortalSettings` is what portal-config manages for one portal: the Gast-werkbon
switch, the three guest permissions and the work types. Work types compare as a
set: their order in a file is for readers, not for OutSmart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FLAGS = ("allow_address_change", "allow_new_relation", "allow_requests_for_others")
FIELDS = ("enabled", *FLAGS, "work_types")


@dataclass(frozen=True)
class PortalSettings:
    portal: str
    enabled: bool
    allow_address_change: bool = False
    allow_new_relation: bool = False
    allow_requests_for_others: bool = False
    work_types: tuple[str, ...] = ()

    @classmethod
    def from_file_data(cls, data: Mapping[str, Any]) -> PortalSettings:
        """From a schema-valid portal file; omitted flags take their restrictive default."""
        guest = data["guest_workorder"]
        return cls(
            portal=data["portal"],
            enabled=guest["enabled"],
            allow_address_change=guest.get("allow_address_change", False),
            allow_new_relation=guest.get("allow_new_relation", False),
            allow_requests_for_others=guest.get("allow_requests_for_others", False),
            work_types=tuple(guest.get("work_types", ())),
        )

    def comparable(self) -> dict[str, Any]:
        """The managed fields as plain data, for comparisons and fingerprints."""
        return {
            "enabled": self.enabled,
            **{flag: getattr(self, flag) for flag in FLAGS},
            "work_types": sorted(self.work_types),
        }

    def permissive_flags(self) -> tuple[str, ...]:
        """The guest permissions on while guests are enabled: what the rule
        permissive-guest-access warns about unless the file acknowledges it."""
        return tuple(flag for flag in FLAGS if self.enabled and getattr(self, flag))

    def same_as(self, other: PortalSettings) -> bool:
        return self.comparable() == other.comparable()

    def fingerprint(self) -> str:
        """A stable hash of the managed fields: detects live changes even without revisions."""
        text = json.dumps(self.comparable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"portal": self.portal, **self.comparable(), "work_types": list(self.work_types)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortalSettings:
        return cls(
            portal=data["portal"],
            enabled=data["enabled"],
            **{flag: data[flag] for flag in FLAGS},
            work_types=tuple(data["work_types"]),
        )


@dataclass(frozen=True)
class LivePortal:
    """A portal as the API reports it: its settings plus the server-managed revision."""

    settings: PortalSettings
    revision: int
    name: str = ""

    @property
    def portal(self) -> str:
        return self.settings.portal


@dataclass(frozen=True)
class WorkType:
    """A work type of the OutSmart account (`GET worktypes/`): its name and whether it is
    active. OutSmart keeps inactive work types; guests cannot be offered them."""

    name: str
    active: bool = True
