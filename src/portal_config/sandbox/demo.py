"""The built-in demo account: the example portals, slightly different from the files.

So that a fresh clone's first `portal-config diff` has something to show: one
portal whose guests may create relations live but not in git, one with a work
type too few, and one portal that exists only in OutSmart (unmanaged).
"""

from __future__ import annotations

from typing import Any

from portal_config.sandbox.account import record_for

WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm", "Reparatie", "Oplevering"]
# Retired in OutSmart but still listed by `GET worktypes/` (with wrt_active "0"), as real
# accounts do; no demo portal offers it.
INACTIVE_WORK_TYPES = ["Legionellacontrole"]


def _portal(
    portal: str, name: str, enabled: bool, work_types: list[str], **flags: bool
) -> dict[str, Any]:
    guest = {
        "enabled": enabled,
        "allow_address_change": flags.get("allow_address_change", False),
        "allow_new_relation": flags.get("allow_new_relation", False),
        "allow_requests_for_others": flags.get("allow_requests_for_others", False),
        "work_types": work_types,
    }
    return record_for(portal, name, {"guest_workorder": guest})


def _sections(url_name: str, name: str, users: list[str], **users_may: bool) -> dict[str, Any]:
    """The other sections of a portal as an OutSmart account holds them: every portal has
    them, whatever a repository manages."""
    return {
        "user_settings": {
            "work_types": users,
            "allow_customer_details_change": users_may.get("customer_details", False),
            "allow_contact_details_change": True,
            "view_only": users_may.get("view_only", False),
        },
        "general": {
            "enabled": True,
            "url_name": url_name,
            "name": name,
            "request_email": f"planning@{url_name}.example",
            "language": "nl",
            "date_format": "dd-mm-yyyy",
            "required_to_accept": True,
            "welcome_text": f"Welkom bij {name}.",
            "default_description": "",
        },
        "display": {
            "invoices": False,
            "workorder_details": True,
            "photos": True,
            "objects": False,
            "documents": False,
        },
    }


def demo_account() -> dict[str, Any]:
    acme = _portal("acme-facilities", "Acme Facilities", True, ["Storing"], allow_new_relation=True)
    # Acme's example file manages its other sections; live holds what it says, and more.
    acme_sections = _sections(
        "acme-facilities", "Acme Facilities Servicedesk", ["Storing", "Onderhoud", "Inspectie"]
    )
    acme_sections["general"]["welcome_text"] = (
        "Welkom bij de servicedesk van Acme Facilities.\nMeld hier uw storing."
    )
    acme_sections["display"]["objects"] = True
    secura = _sections(
        "secura-alarm",
        "Secura Alarmsystemen",
        ["Plaatsing alarm", "Inspectie", "Storing", "Reparatie"],
        customer_details=True,
    )
    portals = [
        {**acme, **acme_sections},
        {
            **_portal(
                "woonstede-noord",
                "Woonstede Noord",
                True,
                ["Storing", "Inspectie", "Onderhoud"],
                allow_requests_for_others=True,
            ),
            **_sections(
                "woonstede-noord", "Woonstede Noord", ["Storing", "Inspectie", "Onderhoud"]
            ),
        },
        {
            **_portal(
                "secura-alarm",
                "Secura Alarmsystemen",
                True,
                ["Plaatsing alarm", "Inspectie", "Storing"],
                allow_address_change=True,
                allow_new_relation=True,
            ),
            **secura,
        },
        {
            **_portal("klimaat-techniek", "Klimaat Techniek", False, []),
            **_sections("klimaat-techniek", "Klimaat Techniek", ["Storing", "Onderhoud"]),
        },
        {
            **_portal("gemeente-intern", "Gemeente Intern", False, []),
            **_sections("gemeente-intern", "Gemeente Intern", ["Storing"], view_only=True),
        },
        {
            **_portal("oud-portaal", "Oud portaal (2019)", False, []),
            **_sections("oud-portaal", "Oud portaal", []),
        },
    ]
    return {
        "version": 1,
        "work_types": list(WORK_TYPES),
        "inactive_work_types": list(INACTIVE_WORK_TYPES),
        "portals": {p["portal_id"]: p for p in portals},
    }
