"""The portal files as git holds them: at a base ref, and the commit a run reflects.

A three-way plan needs the portal files as they were last reviewed: the base
branch, at its merge-base with HEAD. git itself reads them (`git merge-base`,
`git ls-tree`, `git cat-file --batch`), so a shallow clone, a worktree or an
unusual object store behaves exactly as git says; nothing is checked out.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import subprocess
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from portal_config.errors import PortalConfigError
from portal_config.escaping import quote

# git answers in milliseconds; a hung credential helper or a network filesystem must not
# hang a CI job for its whole timeout.
GIT_TIMEOUT = 60.0


class GitError(PortalConfigError):
    """git cannot answer: not a repository, an unknown ref, git missing."""

    prefix = "git"


@dataclass(frozen=True)
class BaseFiles:
    """The files under one directory at the base: what ``--base REF`` resolved to."""

    ref: str
    commit: str
    files: tuple[tuple[str, bytes], ...]  # (path relative to the repository root, content)
    tip: str  # the commit REF names now; not the base when REF moved on since the fork


# Within one run over many accounts (`one_look`), git is asked once per question, not
# once per account: the answers cannot change while the run reads them.
_memo: dict[tuple[str, ...], str | None] | None = None
_memo_lock = threading.Lock()


@contextlib.contextmanager
def one_look() -> Iterator[None]:
    """Remember git's answers until the block ends (a fleet run: 1,000 accounts would
    otherwise start 2,000 git processes)."""
    global _memo
    _memo = {}
    try:
        yield
    finally:
        _memo = None


def _asked(where: Path, *args: str) -> str | None:
    """git's answer, or None where git refuses (no repository, no commit yet)."""
    key = (str(where), *args)
    memo = _memo
    if memo is not None:
        with _memo_lock:
            if key in memo:
                return memo[key]
    try:
        answer: str | None = _git(where, *args)
    except GitError:
        answer = None
    if memo is not None:
        with _memo_lock:
            memo[key] = answer
    return answer


def head_commit(where: Path) -> str | None:
    """The commit HEAD names, or None outside a repository (a run's output names it)."""
    return _asked(where, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")


def has_commit(where: Path, commit: str) -> bool:
    """Whether the repository at ``where`` holds ``commit`` (False outside a repository)."""
    return _asked(where, "cat-file", "-e", f"{commit}^{{commit}}") is not None


def commit_of(where: Path, ref: str, option: str) -> str:
    """The commit ``ref`` names; ``origin/<ref>`` too, as CI checkouts have only those."""
    _check_ref_text(ref, option)
    root = repository_root(where, option)
    for candidate in (ref, f"origin/{ref}"):
        try:
            return _git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except GitError:
            continue
    raise GitError(
        f"{option} {ref}: no such branch, tag or commit in this repository "
        f"(nor origin/{ref}); in CI, fetch it first (actions/checkout with fetch-depth: 0)"
    )


def base_files(where: Path, ref: str, directory: Path) -> BaseFiles:
    """The files under ``directory`` at the merge-base of HEAD and ``ref``."""
    root = repository_root(where, "--base")
    tip = commit_of(root, ref, "--base")
    try:
        base = _git(root, "merge-base", "HEAD", tip)
    except GitError:
        raise GitError(
            f"--base {ref}: HEAD and {ref} share no history (a shallow clone? fetch with "
            "fetch-depth: 0)"
        ) from None
    try:
        relative = directory.resolve().relative_to(root)
    except ValueError:
        raise GitError(f"--base: {directory} is outside the repository at {root}") from None
    listing = _git(root, "ls-tree", "-r", "-z", base, "--", relative.as_posix() or ".")
    blobs: list[tuple[str, str]] = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _mode, kind, blob = meta.split()
        if kind == "blob" and path.endswith((".yaml", ".yml")):
            blobs.append((path, blob))
    contents = _read_blobs(root, [blob for _path, blob in blobs])
    files = tuple((path, data) for (path, _blob), data in zip(blobs, contents, strict=True))
    return BaseFiles(ref, base, files, tip)


def uncommitted(where: Path, paths: Sequence[Path]) -> bool:
    """Whether the work tree differs from HEAD under ``paths`` (edited, added, deleted):
    a plan of such files reflects no commit."""
    root = repository_root(where, "--base")
    inside = []
    for path in paths:
        try:
            inside.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            continue
    if not inside:
        return False
    # The whole work tree's status once (memoized in a fleet run), then matched here.
    status = _asked(root, "status", "--porcelain", "-z", "--untracked-files=all") or ""
    changed = _changed_paths(status)
    return any(
        name == prefix or name.startswith(prefix.rstrip("/") + "/") or prefix == "."
        for name in changed
        for prefix in inside
    )


def _changed_paths(status: str) -> list[str]:
    """The paths `git status --porcelain -z` names: "XY path" fields, and for a rename or
    copy one more field, the path it came from (changed too: the file left it)."""
    fields = iter(status.split("\0"))
    changed = []
    for entry in fields:
        if len(entry) < 4:
            continue
        changed.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            changed.append(next(fields, ""))
    return changed


def repository_root(where: Path, option: str) -> Path:
    top = _asked(where, "rev-parse", "--show-toplevel")
    if top is None:
        raise GitError(
            f"{option}: {where.resolve()} is not in a git repository; run it in a checkout"
        )
    return Path(top).resolve()


def _check_ref_text(ref: str, option: str) -> None:
    # A ref is data from the command line or the environment: never an option to git.
    if not ref or ref.startswith("-") or any(ord(c) < 32 for c in ref):
        raise GitError(f"{option} {quote(ref)}: not a branch, tag or commit name")


def _read_blobs(root: Path, blobs: Sequence[str]) -> list[bytes]:
    """Every blob's bytes from one `git cat-file --batch`, not one process per file."""
    if not blobs:
        return []
    answer = _run(root, ["cat-file", "--batch"], ("\n".join(blobs) + "\n").encode())
    contents: list[bytes] = []
    offset = 0
    for blob in blobs:
        end = answer.index(b"\n", offset)
        header = answer[offset:end].split()
        if len(header) != 3 or header[0].decode() != blob:
            raise GitError(f"git cat-file answered {answer[offset:end]!r} for {blob}")
        size = int(header[2])
        contents.append(answer[end + 1 : end + 1 + size])
        offset = end + 1 + size + 1  # the content, then a newline
    return contents


@dataclass(frozen=True)
class LineCommit:
    """The commit that last changed a line, and its date; None for both: not committed."""

    commit: str | None
    date: str | None  # YYYY-MM-DD, the committer's


NOT_COMMITTED = "0" * 40  # git blame's name for a line of the work tree only


def line_commits(where: Path, path: Path, lines: Collection[int]) -> dict[int, LineCommit]:
    """When each of ``lines`` (1-based) of ``path`` was last changed, as `git blame` says
    of the work tree: one git call for the file. A file git does not track gives none."""
    if not lines:
        return {}
    ranges = [arg for line in sorted(set(lines)) for arg in ("-L", f"{line},{line}")]
    try:
        porcelain = _git(where, "blame", "--porcelain", *ranges, "--", str(path.resolve()))
    except GitError:
        return {}  # not in git, or a line past the end: nothing to say, nothing wrong
    times: dict[str, str] = {}
    found: dict[int, LineCommit] = {}
    commit, final = "", 0
    for row in porcelain.splitlines():
        if row.startswith("\t"):
            continue  # the line's own text
        words = row.split(" ")
        if len(words) >= 3 and len(words[0]) == 40 and words[1].isdigit():
            commit, final = words[0], int(words[2])
            found[final] = _line_commit(commit, times.get(commit))
        elif words[0] == "committer-time" and len(words) == 2 and words[1].isdigit():
            day = datetime.datetime.fromtimestamp(int(words[1]), datetime.timezone.utc).date()
            times[commit] = day.isoformat()
            found[final] = _line_commit(commit, times[commit])
    return found


def _line_commit(commit: str, date: str | None) -> LineCommit:
    return LineCommit(None, None) if commit == NOT_COMMITTED else LineCommit(commit, date)


def _git(where: Path, *args: str) -> str:
    return _run(where, list(args), b"").decode("utf-8", "surrogateescape").strip("\n")


def _run(where: Path, args: list[str], stdin: bytes) -> bytes:
    # GIT_* variables of a surrounding hook (pre-commit sets GIT_INDEX_FILE) would point
    # these reads at another repository's state; the prompt must never wait on a terminal.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=where if where.is_dir() else where.parent,
            input=stdin,
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed for --base and --require-tip)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not answer in {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {first[0] if first else f'exit {done.returncode}'}")
    return done.stdout
