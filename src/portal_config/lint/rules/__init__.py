"""Semantic rules: one module per rule, registered here in display order.

A rule module has a stable ``ID``, a default ``LEVEL``, a docstring that is its
user documentation (shown by ``portal-config rules``), and either

* ``check(document, context)`` yielding `Hit`s for one portal file, or
* ``check_project(documents, context)`` yielding `Hit`s across all portal files;

and, optionally, ``NEEDS``: the sections (top-level keys) it reads, so files without any
are not asked, and ``ON_PROFILES = True`` when it judges a value on its own, so it runs on
each profile too.

Rules see the parts of a document the schema did not refuse (`schema.check_parts`):
a refused value is None and a missing required key is absent, so a rule reads through
`base.guest`, `base.work_types` and `base.known` and skips what depends on such a part.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import ModuleType

from portal_config.lint.loader import Document
from portal_config.lint.rules import (
    discarded_edit,
    duplicate_portal_id,
    duplicate_work_type,
    guest_wider_than_users,
    guests_without_acceptance,
    guests_without_work_types,
    inactive_work_type,
    locked_field_widened,
    locked_fields_disagree,
    permissive_guest_access,
    portal_id_matches_filename,
    profile_name_matches_filename,
    redundant_override,
    request_email_address,
    settings_while_portal_disabled,
    truthy,
    unknown_profile,
    unknown_work_type,
    unused_acknowledgement,
    unused_waiver,
    url_name_one_word,
    waiver_expired,
    waiver_expiring,
    work_types_while_disabled,
)
from portal_config.lint.rules.base import Context, Hit

__all__ = ["NEEDS", "ON_PROFILES", "RULES", "Context", "Hit", "run_rule", "summary"]


RULES: dict[str, ModuleType] = {
    module.ID: module
    for module in (
        portal_id_matches_filename,
        duplicate_portal_id,
        guests_without_work_types,
        work_types_while_disabled,
        permissive_guest_access,
        unused_acknowledgement,
        unknown_work_type,
        inactive_work_type,
        duplicate_work_type,
        url_name_one_word,
        request_email_address,
        guest_wider_than_users,
        guests_without_acceptance,
        settings_while_portal_disabled,
        truthy,
        unknown_profile,
        profile_name_matches_filename,
        locked_field_widened,
        waiver_expired,
        waiver_expiring,
        unused_waiver,
        locked_fields_disagree,
        redundant_override,
        discarded_edit,
    )
}


# What each rule is, worked out once: asking a module for an attribute it lacks raises and
# catches an AttributeError, which per rule and file cost lint ~10 µs a file.
PROJECT_WIDE = frozenset(rule for rule in RULES.values() if hasattr(rule, "check_project"))
NEEDS: dict[ModuleType, frozenset[str]] = {
    rule: frozenset(getattr(rule, "NEEDS", ())) for rule in RULES.values()
}
ON_PROFILES = frozenset(rule for rule in RULES.values() if getattr(rule, "ON_PROFILES", False))


def run_rule(rule: ModuleType, documents: Sequence[Document], context: Context) -> Iterator[Hit]:
    if rule in PROJECT_WIDE:
        yield from rule.check_project(documents, context)
        return
    # A rule about a section (its NEEDS) has nothing to say of a file without it; skipping
    # the call keeps lint's cost per file flat as sections and their rules are added.
    needs = NEEDS.get(rule)
    for document in documents:
        if needs and not (isinstance(document.data, dict) and not needs.isdisjoint(document.data)):
            continue
        yield from rule.check(document, context)


def summary(rule: ModuleType) -> str:
    """First line of the rule's docstring."""
    return (rule.__doc__ or "").strip().splitlines()[0]
