"""A true/false value is spelled yes, no, on, off, or True/FALSE and the like.

YAML 1.1, which PyYAML and many tools speak, reads these as booleans; YAML 1.2 and
other tools read them as strings. `enabled: on` therefore means different things to
different readers of the same file. Write `true` or `false` (`portal-config fmt`
does it for you). As yamllint's `truthy` rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, refused
from portal_config.problems import Level

ID = "truthy"
LEVEL = Level.WARNING
ON_PROFILES = True  # judges a value on its own: run on profiles too

_BOOL_TAG = "tag:yaml.org,2002:bool"


def check(document: Document, context: Context) -> Iterator[Hit]:
    for path, scalar in sorted(document.plain_scalars.items(), key=lambda item: str(item[0])):
        if scalar.tag != _BOOL_TAG or scalar.text in ("true", "false"):
            continue
        if refused(document, path):
            continue  # the schema wanted no boolean there: "write true" would mislead
        meant = "true" if scalar.value else "false"
        message = f"`{scalar.text}` is read as {meant} only by YAML 1.1 readers; write {meant}"
        yield Hit(document, path, message)
