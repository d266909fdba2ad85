"""A project's files checked one by one, fast: lint's one call into the reader.

Lint says what to learn from one file (its disable comments, and what its schema and
per-file rules find) by passing functions in (`PerFile`); how that is made fast stays
here: forked workers for a large batch (`workers`), no cyclic garbage collection while
a project is open, disable comments looked for only in texts that mention them, and
slim outcomes (`Checked`, `slim`), so that 10,000 files keep little alive.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal_config.file_access import Repository
from portal_config.lint.loader import Document
from portal_config.lint.reader import read
from portal_config.lint.reader.project import expand_names, other_documents
from portal_config.lint.workers import map_in_slices
from portal_config.paths import display
from portal_config.problems import Position, Problem

if TYPE_CHECKING:
    from portal_config.lint.scope import Scope


@dataclass(frozen=True)
class PerFile:
    """What lint learns from one file on its own, as functions the reader calls.

    ``directives(shown, text)`` gives a text's disable comments (rule -> where) and the
    problems with them; it is called only for a text that contains ``marker`` (every
    disable comment does). ``judge(document)`` gives the document's schema and per-file
    rule problems, the document to keep when the schema accepted it whole (its effective
    settings, for a portal file that extends profiles) or None, and the rules a disable
    comment silenced in it; the document's ``disabled_rules`` are set before it is called.
    """

    directives: Callable[[str, str], tuple[dict[str, Position], list[Problem]]]
    marker: str
    judge: Callable[[Document], tuple[list[Problem], Document | None, list[str]]]


@dataclass
class Checked:
    """One file after load, disable comments, schema and the per-file rules.

    Only this survives the file's check: whole documents with every position are
    ~6 KiB a file, so lint of 10,000 files kept 80 MiB alive and its garbage collector
    walked all of it again and again.
    """

    problems: list[Problem]
    document: Document | None  # slim, and only when the schema accepted the file
    text: str | None  # kept only when the file has problems or disable comments
    directives: dict[str, Position]  # only in a file the schema accepted
    silenced: list[str]


class Project:
    """The files a lint was given (``files``: their shown names), checked by `check`."""

    def __init__(self, paths: Sequence[Path], scope: Scope, repository: Repository) -> None:
        self._paths = paths
        self._scope = scope
        self._repository = repository
        self._names = [name for name, _ in expand_names(paths, scope)]
        self.files = [display(name) for name in self._names]

    def check(self, per_file: PerFile) -> Iterator[tuple[str, Checked]]:
        """Each file's shown name and outcome, in order; a large batch in workers."""
        jobs = list(zip(self._names, self.files, strict=True))
        self._names = []  # from here on the shown names stand for the files
        repository = self._repository
        checked = map_in_slices(
            lambda part: [_check(path, name, per_file, repository) for path, name in part],
            jobs,
        )
        del jobs
        yield from zip(self.files, checked, strict=True)

    def others(self, ids: set[str], accept: Callable[[Document], bool]) -> list[Document]:
        """The project's other portal files that may configure one of ``ids`` and that
        ``accept`` takes, slim (see reader.project.other_documents)."""
        found = other_documents(self._paths, self.files, ids, self._scope, self._repository)
        return [slim(document) for document in found if accept(document)]

    def text(self, shown: str) -> str | None:
        """A linted file's text, read again (a shown name opens the file it names)."""
        return read(shown, shown, self._repository).text


@contextlib.contextmanager
def open_project(paths: Sequence[Path], scope: Scope, repository: Repository) -> Iterator[Project]:
    """The project, with cyclic garbage collection paused until it is closed: reading,
    checking and the project rules make no cycles, yet their many small objects set off
    collections that walk every object kept so far (13-20% of lint's time at 10,000
    files while reading, and ~15% more in the project rules after it). Reference
    counting still frees them."""
    if not gc.isenabled():
        yield Project(paths, scope, repository)
        return
    gc.disable()
    try:
        yield Project(paths, scope, repository)
    finally:
        gc.enable()


def _check(path: str, name: str, per_file: PerFile, repository: Repository) -> Checked:
    result = read(path, name, repository)
    problems, text, document = result.problems, result.text, result.document
    disabled: dict[str, Position] = {}
    if text is not None and per_file.marker in text:  # nearly every file: no search
        disabled, found = per_file.directives(name, text)
        problems.extend(found)
    silenced: list[str] = []
    if document is not None:
        document.disabled_rules = frozenset(disabled) if disabled else _NONE_DISABLED
        found, accepted, silenced = per_file.judge(document)
        problems.extend(found)
        document = slim(accepted) if accepted is not None else None
    # A disable comment is judged unused only in a file the schema passed: elsewhere the
    # rule it names may have skipped the refused part it would have reported.
    used = disabled if document is not None else {}
    keep = text if (problems or used) else None
    return Checked(problems, document, keep, used, silenced)


_NONE_DISABLED: frozenset[str] = frozenset()  # one shared empty set, not one per file
# Shared by every slim document and never written to; a plain dict, as a worker process
# hands documents back pickled (a MappingProxyType cannot be pickled).
_NOTHING: Mapping[Any, Any] = {}


def slim(document: Document) -> Document:
    """The document with only what is read after its own checks: its data, its disable
    comments, how profiles merged into it, and where its ``portal:`` value and each of its
    fields are (duplicate ids point there; a plan names the line that set each change)."""
    values = {path: at for path, at in document.values.items() if len(path) <= 2}
    return Document(
        document.path,
        document.data,
        values or _NOTHING,
        _NOTHING,
        _NOTHING,
        document.disabled_rules,
        document.resolution,
    )
