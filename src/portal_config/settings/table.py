"""The settings table: every section of a portal and every field in it, declared once.

Everything that knows a field's name, its type, its default or which way of changing it
widens access reads it here: the settings model, reading portal files, the wire format,
the canonical form (fmt, pull), comparison and field changes, widening marks, the
sandbox's validation, the portal JSON Schema and the OpenAPI components. Adding a section
means adding it to `SECTIONS` (and regenerating the committed schemas), nothing else.

The table in use is `active()`. Tests declare a table of their own and install it with
`use()`, to prove that nothing else in the code names a field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from portal_config.settings.fields import (
    UNMANAGED,
    Acknowledgement,
    Field,
    Kind,
    Merge,
    Section,
    Table,
    Widening,
)

__all__ = [
    "SECTIONS",
    "TABLE",
    "UNMANAGED",
    "Acknowledgement",
    "Field",
    "Kind",
    "Merge",
    "Section",
    "Table",
    "Widening",
    "active",
    "use",
]


# A name OutSmart accepts for a work type: no surrounding or separator whitespace, no
# line break inside (one name is one line wherever it is shown).
WORK_TYPE_PATTERN = "^[^\\s\\x1c-\\x1f\\x85\\ufeff]([^\\n]*[^\\s\\x1c-\\x1f\\x85\\ufeff])?(?!\\n)$"

GUEST_WORK_TYPE: dict[str, Any] = {
    "title": "Work type",
    "description": "One OutSmart work type name, e.g. Storing or Plaatsing alarm.",
    "minLength": 1,
    "maxLength": 100,
    "pattern": WORK_TYPE_PATTERN,
    "examples": ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm"],
}

GUEST_WORKORDER = Section(
    name="guest_workorder",
    title="Gast-werkbon",
    description=(
        "The Gast-werkbon section of the portal: whether people without a portal account "
        "may submit work order requests, and what they may do."
    ),
    required=True,
    audience="guest access",
    examples=({"enabled": True, "work_types": ["Storing"]},),
    fields=(
        Field(
            "enabled",
            Kind.SWITCH,
            "Guest requests enabled",
            "Switches the Gast-werkbon option on or off: may non-registered users submit "
            "requests through this portal?",
            required=True,
            widens=Widening.ON,
            examples=(True, False),
        ),
        Field(
            "allow_address_change",
            Kind.BOOLEAN,
            "Allow address changes",
            "May a guest change the address of the request (Adreswijzigingen toestaan)? "
            "Restrictive by default.",
            default=False,
            widens=Widening.ON,
            acknowledgement=Acknowledgement(
                "Why guests may change addresses",
                "The reason address changes by guests are allowed for this portal.",
            ),
            examples=(False,),
        ),
        Field(
            "allow_new_relation",
            Kind.BOOLEAN,
            "Allow new relations",
            "May a guest create a new relation, i.e. a new customer record (nieuwe relatie "
            "aanmaken)? Restrictive by default.",
            default=False,
            widens=Widening.ON,
            acknowledgement=Acknowledgement(
                "Why guests may create relations",
                "The reason guests may create new customer records in this portal.",
                example="New tenants register through the guest form.",
            ),
            examples=(False,),
        ),
        Field(
            "allow_requests_for_others",
            Kind.BOOLEAN,
            "Allow requests for others",
            "May a guest submit a request on behalf of someone else? Restrictive by default.",
            default=False,
            widens=Widening.ON,
            acknowledgement=Acknowledgement(
                "Why guests may request for others",
                "The reason guests may submit requests on behalf of others in this portal.",
            ),
            examples=(False,),
        ),
        Field(
            "work_types",
            Kind.NAMES,
            "Work types",
            "The work types (werktypen) guests may choose from, spelled exactly as in "
            "OutSmart. Each name appears once.",
            default=(),
            widens=Widening.ADD,
            work_types=True,
            constraints=dict(GUEST_WORK_TYPE),
            examples=(["Storing", "Onderhoud"],),
        ),
    ),
)

# What no text of a portal holds: control characters, and the bidi controls that would
# show customers reordered text.
_CONTROLS = "\\x00-\\x1f\\x7f-\\x9f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
# One line of text: none of those (a line break included), no space at either end.
LINE_PATTERN = f"^[^\\s{_CONTROLS}]([^{_CONTROLS}]*[^\\s{_CONTROLS}])?(?!\\n)$"
# Prose: several lines may be (tab and line feed), no space at the end.
_PROSE = _CONTROLS.replace("\\x00-\\x1f", "\\x00-\\x08\\x0b-\\x1f")
PROSE_PATTERN = f"^([^{_PROSE}]*[^\\s{_CONTROLS}])?(?!\\n)$"


def _line(max_length: int) -> dict[str, Any]:
    return {"minLength": 1, "maxLength": max_length, "pattern": LINE_PATTERN}


USER_SETTINGS = Section(
    name="user_settings",
    title="Gebruikersinstellingen en Rechten",
    description=(
        "User settings and rights (Gebruikersinstellingen en Rechten): what the portal's "
        "registered users may do. They apply to every user of this portal; a group that "
        "needs other rights gets a portal of its own."
    ),
    audience="portal users' access",
    examples=({"work_types": ["Storing", "Onderhoud"], "view_only": False},),
    fields=(
        Field(
            "work_types",
            Kind.NAMES,
            "Work types for portal users",
            "The work types portal users may request (Werktypen beperken), spelled exactly "
            "as in OutSmart. Left out: not managed here.",
            widens=Widening.ADD,
            work_types=True,
            constraints=dict(GUEST_WORK_TYPE),
            examples=(["Storing", "Onderhoud"],),
        ),
        Field(
            "allow_customer_details_change",
            Kind.BOOLEAN,
            "Allow customer details changes",
            "May portal users change their customer details (the opposite of "
            "Wijzigen klantgegevens blokkeren)?",
            widens=Widening.ON,
            examples=(False,),
        ),
        Field(
            "allow_contact_details_change",
            Kind.BOOLEAN,
            "Allow contact details changes",
            "May portal users change contact details (the opposite of Wijzigen "
            "contactgegevens blokkeren)?",
            widens=Widening.ON,
            examples=(True,),
        ),
        Field(
            "view_only",
            Kind.BOOLEAN,
            "View only",
            "Portal users may only look, not request (Alleen-lezen). Ending view-only widens "
            "what they may do.",
            widens=Widening.OFF,
            examples=(False,),
        ),
    ),
)

GENERAL = Section(
    name="general",
    title="Algemeen",
    description="General settings of the portal (Algemeen): whether it is on, its address, "
    "name, language and what a new request starts with.",
    audience="access to the portal",
    examples=({"enabled": True, "url_name": "acme", "required_to_accept": True},),
    fields=(
        Field(
            "enabled",
            Kind.SWITCH,
            "Portal enabled",
            "Switches the whole portal on or off (Portaal actief).",
            widens=Widening.ON,
            examples=(True,),
        ),
        Field(
            "url_name",
            Kind.TEXT,
            "URL name",
            "The portal's name in its web address (URL-naam): one word, no spaces.",
            constraints=_line(63),
            examples=("acme",),
        ),
        Field(
            "name",
            Kind.TEXT,
            "Portal name",
            "The name customers see (Portaalnaam).",
            constraints=_line(100),
            examples=("Acme Facilities",),
        ),
        Field(
            "request_email",
            Kind.TEXT,
            "Request e-mail address",
            "The e-mail address that receives new requests (E-mailadres voor nieuwe aanvragen).",
            constraints=_line(254),
            examples=("planning@example.nl",),
        ),
        Field(
            "language",
            Kind.CHOICE,
            "Language",
            "The portal's language (Taal).",
            choices=("nl", "en", "de"),
            examples=("nl",),
        ),
        Field(
            "date_format",
            Kind.CHOICE,
            "Date format",
            "How dates are shown (Datumnotatie).",
            choices=("dd-mm-yyyy", "yyyy-mm-dd", "dd/mm/yyyy", "mm/dd/yyyy"),
            examples=("dd-mm-yyyy",),
        ),
        Field(
            "required_to_accept",
            Kind.BOOLEAN,
            "Required to accept",
            "New requests need the office's approval before they become work orders "
            "(Verplicht accepteren); they wait under Portaalaanvragen. Ending it widens access: "
            "requests go straight into planning.",
            widens=Widening.OFF,
            examples=(True,),
        ),
        Field(
            "welcome_text",
            Kind.TEXT,
            "Welcome text",
            "The text on the portal's first page (Welkomsttekst).",
            constraints={"maxLength": 5000, "pattern": PROSE_PATTERN},
            examples=("Welkom bij ons klantportaal.",),
        ),
        Field(
            "default_description",
            Kind.TEXT,
            "Default work-order description",
            "The description a new request starts with (Standaard werkbonomschrijving).",
            constraints={"maxLength": 2000, "pattern": PROSE_PATTERN},
            examples=("Graag zo spoedig mogelijk.",),
        ),
    ),
)

DISPLAY = Section(
    name="display",
    title="Weergave",
    description="What customers see in the portal (Weergave).",
    audience="what customers see",
    examples=({"invoices": False, "workorder_details": True},),
    fields=(
        Field(
            "invoices",
            Kind.BOOLEAN,
            "Invoices",
            "Customers see their invoices (Facturen).",
            widens=Widening.ON,
            examples=(False,),
        ),
        Field(
            "workorder_details",
            Kind.BOOLEAN,
            "Work-order details",
            "Customers see the details of their work orders (Werkbondetails).",
            examples=(True,),
        ),
        Field(
            "photos",
            Kind.BOOLEAN,
            "Photos",
            "Customers see the photos taken on a visit (Foto's).",
            examples=(True,),
        ),
        Field(
            "objects",
            Kind.BOOLEAN,
            "Objects",
            "Customers see their objects, e.g. installed equipment (Objecten).",
            examples=(True,),
        ),
        Field(
            "documents",
            Kind.BOOLEAN,
            "Documents",
            "Customers see the documents attached to them (Documenten).",
            widens=Widening.ON,
            examples=(False,),
        ),
    ),
)

SECTIONS = (GUEST_WORKORDER, USER_SETTINGS, GENERAL, DISPLAY)
TABLE = Table(SECTIONS)

_active: list[Table] = [TABLE]


def active() -> Table:
    """The table in use: the declared one, or one a test installed with `use`."""
    return _active[-1]


@contextmanager
def use(table: Table) -> Iterator[Table]:
    """Install ``table`` for the duration of the block (for tests of the table itself)."""
    _active.append(table)
    try:
        yield table
    finally:
        _active.remove(table)
