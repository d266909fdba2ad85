"""What a plan is made from: the desired settings, the live snapshot, base, commit, target,
account and thresholds, as one frozen value.

A saved plan (`diff --out`) is this value and nothing else: every change, count and
refusal shown is derived from it by the one builder (`value.build_plan`), so no shown
field can be edited to disagree with the rest. `gather` turns valid portal documents and
one live read into the portals of it, with a Problem for each file that cannot be planned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from portal_config import TOOL
from portal_config.lint.loader import Document
from portal_config.plan.live_values import is_file_id, not_ignored, refusal, unrepresentable
from portal_config.plan.profile_digests import ProfileDigest
from portal_config.problems import Level, Problem
from portal_config.project.config import NOTHING_IGNORED, Ignore, Safety
from portal_config.settings.effective import FieldKey, Origin
from portal_config.settings.model import LivePortal, PortalSettings

PLAN_FORMAT = "portal-config-plan"
# Version 2: `tool` replaced `tool_version`, and `summary` became counts instead of a line.
# Version 3: three-way plans: `base`, `commit`, `live_read_at`, `apply_refusal`, each
# portal's `base` settings, each change's `origin`, and the summary's `drift`.
# Version 4: live values held to the portal file's constraints, and unmanaged portals whose
# ids no file can use listed apart, in `unmanaged_other_ids`.
# Version 5: a saved plan holds the plan's inputs only (with the safety thresholds); what
# diff shows (changes, actions, summary, apply_refusal, fingerprints) is derived on reading.
# Version 6: each portal's `sources` (the file and line that set each managed field), each
# change's `source`, a three-way plan's `fan_out` (what each profile edit reaches), and
# `profiles`, the profile files the portals extend, each with its sha256, so that apply
# finds a plan a profile edit has made stale.
PLAN_VERSION = 6
MISSING_RULE = "missing-portal"
LIVE_VALUE_RULE = "live-value"  # live settings of a managed portal that no file can hold
IGNORED_RULE = "ignored-portal"  # a file for a portal the config's ignore: leaves alone

DIFF = "diff"
DRIFT_REPORT = "drift"


@dataclass(frozen=True)
class BaseRef:
    """What a three-way plan compared with: the ref asked for and the commit it gave.

    The drift command's base is the checkout itself (``ref`` "HEAD"): every difference
    from live is then an edit made outside git.
    """

    ref: str
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "commit": self.commit}


@dataclass(frozen=True)
class PortalInputs:
    """One planned portal: its file's desired settings against its live snapshot."""

    file: str
    desired: PortalSettings
    live: LivePortal
    # What lint honoured in the file besides the settings, so that `apply plan.json`
    # checks each desired state exactly as lint checked its file.
    acknowledged: Mapping[str, str] = field(default_factory=dict)
    disabled_rules: tuple[str, ...] = ()
    # A three-way plan's base settings of this portal; None when the base had no file
    # for it (a new file) or the plan is two-way.
    base: PortalSettings | None = None
    # The file and line that set each desired field (a profile's or the portal file's):
    # inputs, as a saved plan must name the same lines diff named.
    sources: Mapping[FieldKey, Origin] = field(default_factory=dict)
    # For a value a profile made by editing ({add, remove}) an inherited one: the lines of
    # what it edited, earliest first (a profile edit reaches the portal through them too).
    over: Mapping[FieldKey, tuple[Origin, ...]] = field(default_factory=dict)

    def made_by(self, key: FieldKey) -> tuple[Origin, ...]:
        """Every line the desired value of ``key`` comes from, the one that set it last."""
        source = self.sources.get(key)
        return (*self.over.get(key, ()), source) if source is not None else ()

    @property
    def portal(self) -> str:
        return self.desired.portal

    @property
    def live_revision(self) -> int:
        return self.live.revision

    def compared(self) -> PortalSettings:
        """The live settings the plan compares, shows and saves: the fields the file
        manages. (Writes send the rest of a section back as live holds it.)"""
        return self.live.settings.managed_by(self.desired)

    def to_json(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "file": self.file,
            "live_revision": self.live.revision,
            "live": self.compared().to_json(),
            "desired": self.desired.to_json(),
            "base": self.base.to_json() if self.base is not None else None,
            "acknowledged": dict(self.acknowledged),
            "disabled_rules": list(self.disabled_rules),
            "sources": [
                {"section": section, "field": name}
                | origin_json(origin)
                | _over_json(self.over.get((section, name), ()))
                for (section, name), origin in self.sources.items()
            ],
        }


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan is made from; the builder derives the rest."""

    target: str
    base_url: str
    portals: tuple[PortalInputs, ...]
    created_at: str
    live_read_at: str | None
    unmanaged: tuple[str, ...] = ()
    kind: str = DIFF  # or DRIFT_REPORT: live against the files of the checkout
    base: BaseRef | None = None  # set: a three-way plan, every change has an origin
    commit: str | None = None  # the commit of the files planned, when in a git checkout
    account: str | None = None  # in a many-account repository, whose portals these are
    # The thresholds apply_refusal is judged by; None: the plan shows no refusal (apply
    # from files judges it at the prompt instead).
    safety: Safety | None = None
    # Portals of a saved plan that live already holds as planned (see `replan`).
    already_applied: tuple[str, ...] = ()
    # The profile files the portals' desired settings were merged from, as they were.
    profiles: tuple[ProfileDigest, ...] = ()
    # A three-way plan's profile files (as sources name them) that differ from the base:
    # the branch's profile edits, which its fan-out credits (a file it did not touch is
    # never named as what a change reaches through).
    edited_profiles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The saved plan: these inputs, the format first as in every JSON output."""
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "tool": TOOL,
            "kind": self.kind,
            "target": {"name": self.target, "base_url": self.base_url},
            "account": self.account,
            "created_at": self.created_at,
            "commit": self.commit,
            "base": self.base.to_json() if self.base is not None else None,
            "live_read_at": self.live_read_at,
            "safety": safety_json(self.safety) if self.safety is not None else None,
            "portals": [p.to_json() for p in self.portals],
            "profiles": [record.to_json() for record in self.profiles],
            **({"edited_profiles": list(self.edited_profiles)} if self.edited_profiles else {}),
            # Ids a file could use are held to the file's pattern; the others only bounded.
            "unmanaged": [name for name in self.unmanaged if is_file_id(name)],
            "unmanaged_other_ids": [name for name in self.unmanaged if not is_file_id(name)],
        }

    def replan(
        self, live: Sequence[LivePortal], read_at: str, ignore: Ignore = NOTHING_IGNORED
    ) -> tuple[PlanInputs, list[str]]:
        """These inputs against current live state, and the portals that moved since (stale).

        A portal that moved to exactly the planned settings is not stale but already
        applied (a re-run apply job): it needs no write, and the inputs say so. Live
        portals ``ignore`` names are not listed as unmanaged (the plan file's check
        refuses a plan that plans one).
        """
        by_id = not_ignored(live, ignore)
        stale: list[str] = []
        portals: list[PortalInputs] = []
        applied: list[str] = []
        for saved in self.portals:
            current = by_id.get(saved.portal)
            if current is None:
                stale.append(f"{saved.portal} (no longer exists)")
                continue
            moved = (
                current.revision != saved.live.revision
                or current.settings.managed_by(saved.desired).fingerprint()
                != saved.compared().fingerprint()
            )
            if moved and current.settings.same_as(saved.desired):
                applied.append(saved.portal)
            elif moved:
                stale.append(
                    f"{saved.portal} (revision {saved.live.revision} -> {current.revision})"
                )
                continue
            portals.append(replace(saved, live=current))
        unmanaged = sorted(set(by_id) - {p.portal for p in self.portals})
        again = replace(
            self,
            portals=tuple(portals),
            unmanaged=tuple(unmanaged),
            live_read_at=read_at,
            already_applied=tuple(sorted(applied)),
        )
        return again, stale


def origin_json(origin: Origin) -> dict[str, Any]:
    """Where a value was set, as plans show it: the file, and the line (null: not known)."""
    return {"file": origin.file, "line": origin.position[0] if origin.position else None}


def _over_json(over: Sequence[Origin]) -> dict[str, Any]:
    return {"over": [origin_json(origin) for origin in over]} if over else {}


def _origin(entry: Mapping[str, Any]) -> Origin:
    return Origin(entry["file"], (entry["line"], 1) if entry["line"] is not None else None)


def sources_from_json(
    entries: Sequence[Mapping[str, Any]],
) -> tuple[dict[FieldKey, Origin], dict[FieldKey, tuple[Origin, ...]]]:
    """A saved portal's `sources` (schema-valid) as `PortalInputs.sources` and `.over`."""
    sources = {(entry["section"], entry["field"]): _origin(entry) for entry in entries}
    over = {
        (entry["section"], entry["field"]): tuple(map(_origin, entry["over"]))
        for entry in entries
        if entry.get("over")
    }
    return sources, over


def sources_of(
    document: Document, desired: PortalSettings
) -> tuple[dict[FieldKey, Origin], dict[FieldKey, tuple[Origin, ...]]]:
    """The file and line that set each field ``desired`` manages (the profile's or the
    portal file's), and for a value a profile edited, the lines of what it edited. A field
    only its default manages (no file names it) has none."""
    found: dict[FieldKey, Origin] = {}
    over: dict[FieldKey, tuple[Origin, ...]] = {}
    resolution = document.resolution
    for section, one, _ in desired.managed():
        key = (section.name, one.name)
        if resolution is not None:
            setting = resolution.settings.get(key)
            if setting is not None:
                *earlier, found[key] = setting.made_by()
                if earlier:
                    over[key] = tuple(earlier)
        elif key in document.values:
            found[key] = Origin(document.path, document.values[key])
    return found, over


def safety_json(safety: Safety) -> dict[str, Any]:
    return {
        "max_portals": safety.max_portals,
        "max_share": safety.max_share,
        "min_portals_for_share": safety.min_portals_for_share,
        "fleet_max_portals": safety.fleet_max_portals,
    }


def gather(
    documents: Sequence[Document],
    live: Sequence[LivePortal],
    target: str,
    base: Mapping[str, PortalSettings] | None = None,
    ignore: Ignore = NOTHING_IGNORED,
) -> tuple[tuple[PortalInputs, ...], tuple[str, ...], list[Problem]]:
    """The planned portals (by id), the unmanaged live ids, and a Problem for every file
    whose portal does not exist live, is ignored by the config, or holds live settings no
    file can (live_values.py).

    ``base`` (the base's settings by portal id) gives each portal its base; portals are
    matched by id, so a renamed file still finds it. Live portals ``ignore`` names are
    left out, unmanaged ones included.
    """
    by_id = not_ignored(live, ignore)
    portals: list[PortalInputs] = []
    problems: list[Problem] = []
    managed: set[str] = set()
    for document in documents:
        desired = PortalSettings.from_file_data(document.data)
        managed.add(desired.portal)
        current = by_id.get(desired.portal)
        reasons = _unplannable(desired, current, target, ignore)
        if current is None or reasons:
            problems.extend(
                Problem(document.path, document.locate(("portal",)), Level.ERROR, rule, message)
                for rule, message in reasons
            )
            continue
        portals.append(
            PortalInputs(
                document.path,
                desired,
                current,
                dict(document.data.get("acknowledged", {})),
                tuple(sorted(document.disabled_rules)),
                base.get(desired.portal) if base is not None else None,
                *sources_of(document, desired),
            )
        )
    portals.sort(key=lambda p: p.portal)
    return tuple(portals), tuple(sorted(set(by_id) - managed)), problems


def _unplannable(
    desired: PortalSettings, current: LivePortal | None, target: str, ignore: Ignore
) -> list[tuple[str, str]]:
    """Why a file's portal cannot be planned, each with its rule: nothing live to plan
    against, the config ignores it, or its live settings hold a value no file can (in a
    field the file manages: what the file leaves alone, it need not be able to hold)."""
    portal = desired.portal
    ignored = ignore.why(portal)
    if ignored is not None:
        return [(IGNORED_RULE, f"portal '{portal}' is {ignored}, but has a file; remove one")]
    if current is None:
        return [
            (
                MISSING_RULE,
                f"portal '{portal}' does not exist in target {target}; "
                "portals are created in OutSmart, not by portal-config",
            )
        ]
    reasons = unrepresentable(current.settings.managed_by(desired))
    return [(LIVE_VALUE_RULE, refusal(portal, reasons))] if reasons else []
