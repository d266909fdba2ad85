"""The project's files as lint finds them: the paths it is given, expanded, and the other
portal files whose ids the project-wide rules need.

Everything here runs once per file of the project on every lint, however few files are
linted, so it works with plain strings and os-level calls, and takes each unlinted
file's id from the id index (`reader.id_index`) when the file is unchanged.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from portal_config.file_access import Repository, UnreadableFile, leads_outside, read_bounded
from portal_config.lint.loader import MAX_BYTES, Document
from portal_config.lint.reader import read
from portal_config.lint.reader.id_index import IdIndex
from portal_config.lint.reader.tree import identity, walk
from portal_config.paths import display

if TYPE_CHECKING:
    from portal_config.lint.scope import Scope

CACHE_DIRECTORY = ".portal-config"  # local state, git-ignored (as the sandbox's state)


def expand(paths: Sequence[Path], scope: Scope) -> Iterator[Path]:
    """Files as given; directories searched recursively for *.yaml / *.yml, in stable order."""
    for name, _ in expand_names(paths, scope):
        yield Path(name)


def expand_names(paths: Sequence[Path], scope: Scope) -> Iterator[tuple[str, str]]:
    """`expand` as (name, absolute name) strings: what lint itself walks with."""
    skip = {identity(scope.catalog)}
    if scope.config_file is not None:
        skip.add(identity(scope.config_file))
    seen: set[str] = set()
    # Profiles are read as profiles by every lint (lint.profiles), never as portal files.
    profiles = tuple(os.path.join(identity(d), "") for d in scope.profile_dirs)
    for path in paths:
        if path.is_dir() and not leads_outside(path, scope.root):
            candidates: Iterable[tuple[str, str]] = walk(str(path), skip)
        else:
            candidates = [(str(path), identity(path))]
        for name, key in candidates:
            if profiles and key.startswith(profiles):
                continue
            if key not in seen:
                seen.add(key)
                yield name, key


def other_documents(
    requested: Sequence[Path],
    linted: Sequence[str],
    ids: set[str],
    scope: Scope,
    repository: Repository,
) -> list[Document]:
    """Portal files of the project that were not linted now, for cross-file rules; lint
    keeps those its schema accepts (the reader reads, lint judges).

    Only files that may configure one of the linted portal ids can matter, so the rest
    are skipped unparsed: a pre-commit run on one file stays fast in a big repo. Each
    file's id is read off its `portal:` line, or taken from the id index (one stat, see
    reader.id_index) when the file is unchanged since a run read it, and looked up in a
    set, so the scan is linear in the number of files, however many were linted.
    """
    if not ids or not scope.portals_dir.is_dir():
        return []
    portals = identity(scope.portals_dir)
    if any(portals == identity(p) or portals.startswith(identity(p) + os.sep) for p in requested):
        return []  # the whole portals directory was linted already
    done = {identity(p) for p in linted}
    index = IdIndex(os.path.join(scope.root, CACHE_DIRECTORY))
    found = []
    for name, absolute in expand_names([scope.portals_dir], scope):
        if absolute in done:
            continue
        portal = _portal_id(name, absolute, index, repository)
        if portal is not None and (portal == "" or portal in ids):
            document = read(name, display(name), repository).document
            if document is not None:
                found.append(document)
    index.save()
    return found


def _portal_id(name: str, absolute: str, index: IdIndex, repository: Repository) -> str | None:
    """The file's id as `_portal_line` reads it, or None when it cannot be read (it is
    reported when that file is linted itself)."""
    try:  # os-level calls: this runs for every file of the project
        status = os.lstat(name)
    except OSError:
        return None
    regular = stat.S_ISREG(status.st_mode)  # a link is read each time, through its checks
    portal = index.lookup(absolute, status) if regular else None
    if portal is not None:
        return portal
    try:
        head = read_bounded(name, MAX_BYTES, repository)
    except (OSError, UnreadableFile):
        return None
    portal = _portal_line(head)
    if regular:
        index.record(absolute, status, portal)
    return portal


# A top-level `portal: id` line, as pull and fmt write it (quotes and a comment allowed).
_PORTAL_LINE = re.compile(
    rb"^portal:[ \t]*(['\"]?)([^'\"\s#\\&!*]+)\1[ \t]*(?:#.*)?$", re.MULTILINE
)


# The portal id pattern of the schema: anything else is left to the loader to judge.
_SLUG = re.compile(rb"[a-z0-9]+(?:-[a-z0-9]+)*")
_COMMENT = re.compile(rb"(?m)^[ \t]*#.*$")
# Where a scalar or collection can start: a line's start (after `- ` or `? `), or a value
# after `key: `.
_OPENS_QUOTE_OR_FLOW = re.compile(rb"(?m)(?:^[ \t]*(?:[-?][ \t]+)*|:[ \t]+)['\"\[{]")


def _portal_line(data: bytes) -> str:
    """The id of the file's one plain `portal:` line, or "" when only loading the file
    tells which portal it may configure.

    The usual file has one plain `portal:` line. Any other spelling (a flow mapping, an
    escape, an anchor or tag, a non-ASCII id) is rare, so such a file is simply loaded.
    """
    found = _PORTAL_LINE.findall(data)
    if len(found) != 1 or not _SLUG.fullmatch(found[0][1]):
        return ""  # `portal: >-` or `|-` (a block scalar's indicator), a tag, a flow value
    # A `portal:` line can sit inside a multi-line quoted scalar or a flow collection,
    # where it is no key, beside the real key written quoted: only a file where no value
    # (or key) starts with a quote or a bracket is read by its line alone. A quote inside
    # plain text (Facilities' office), a comment or the portal line itself starts none.
    if _OPENS_QUOTE_OR_FLOW.search(_COMMENT.sub(b"", _PORTAL_LINE.sub(b"", data))):
        return ""
    return str(found[0][1].decode("ascii"))
