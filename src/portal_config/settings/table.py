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

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.Enum):
    """What a field holds, which decides its schema, its wire form and how it compares."""

    SWITCH = "switch"  # the section's own on/off: a boolean other rules key on
    BOOLEAN = "boolean"
    TEXT = "text"
    CHOICE = "choice"  # one of `Field.choices`
    NAMES = "names"  # a set of names (its order in a file is for readers only)


class Widening(enum.Enum):
    """Which way of changing a field gives someone outside the office more."""

    ON = "on"  # false -> true
    OFF = "off"  # true -> false (a restriction ended)
    ADD = "add"  # a name added to the set


class Omitted(enum.Enum):
    """What a field a file leaves out means."""

    UNMANAGED = "unmanaged"  # no opinion: diff never shows it, apply never writes it


UNMANAGED = Omitted.UNMANAGED


@dataclass(frozen=True)
class Acknowledgement:
    """A field whose widening value a file may acknowledge with a reason (`acknowledged:`)."""

    title: str
    description: str


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    title: str
    description: str
    # The value a file that leaves the field out means; UNMANAGED: it is not managed then.
    default: Any = UNMANAGED
    widens: Widening | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    # Text: JSON Schema keywords for the value (a pattern, a length); names: the JSON
    # Schema of one name, its type aside.
    constraints: dict[str, Any] = field(default_factory=dict)
    # Names that must be work types of the account (the catalog's rules check them).
    work_types: bool = False
    acknowledgement: Acknowledgement | None = None
    examples: tuple[Any, ...] = ()

    @property
    def managed_when_omitted(self) -> bool:
        return self.default is not UNMANAGED

    def widened(self, old: Any, new: Any) -> bool:
        """Whether changing this field from ``old`` to ``new`` widens access.

        For a set of names, ``old`` and ``new`` are the names removed and added."""
        if self.widens is Widening.ON:
            return not old and bool(new)
        if self.widens is Widening.OFF:
            return bool(old) and not new
        if self.widens is Widening.ADD:
            return bool(new)
        return False

    def narrowed(self, old: Any, new: Any) -> bool:
        """Whether the change takes access away (the reverse of `widened`)."""
        if self.widens is Widening.ADD:
            return bool(old)
        return self.widened(new, old)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    examples: tuple[Any, ...] = ()
    required: bool = False  # whether a portal file must have this section
    # Whose access a widening change of this section widens, as a plan's mark says it.
    audience: str = "access"

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def switch(self) -> Field | None:
        """The field that switches the section on or off, if it has one."""
        return next((f for f in self.fields if f.kind is Kind.SWITCH), None)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches key on it
class Table:
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def fields(self) -> Iterator[tuple[Section, Field]]:
        for section in self.sections:
            for one in section.fields:
                yield section, one

    def acknowledgeable(self) -> Iterator[tuple[Section, Field]]:
        return ((s, f) for s, f in self.fields() if f.acknowledgement is not None)


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

# One line of text: no line break, no control character, no space at either end.
LINE_PATTERN = (
    "^[^\\s\\x00-\\x1f\\x7f-\\x9f]([^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?(?!\\n)$"
)
# Prose: several lines may be, but no other control character, and no space at the end.
PROSE_PATTERN = "^([^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?(?!\\n)$"


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
    audience="access",
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
