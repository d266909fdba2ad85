"""A profile's name must equal its file name without the extension.

Portal files name a profile in `extends:` by its file name: profiles/restrictive.yaml must
say `profile: restrictive`, or a reader of the file is misled about what extends it. For
the same reason one directory holds one file per profile: beside profiles/restrictive.yaml,
a profiles/restrictive.yml would be ignored, and so would every edit made in it.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document, file_stem
from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level

ID = "profile-name-matches-filename"
LEVEL = Level.ERROR
NEEDS = ("profile",)  # the key it reads
ON_PROFILES = True  # only a profile has a `profile:` name


def check(document: Document, context: Context) -> Iterator[Hit]:
    stem = file_stem(document.path)
    name = document.data.get("profile")
    if isinstance(name, str) and name != stem:
        message = f"profile name '{name}' does not match the file name '{stem}'; rename one"
        yield Hit(document, ("profile",), message)
