"""The id index: a pre-commit run trusts a file's remembered id only while the file's
stat proves it unchanged, and reads the file whenever in doubt (issue 21, point 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import VALID, Invoke
from portal_config.lint.reader import id_index
from portal_config.lint.reader import project as project_module
from portal_config.lint.reader.id_index import NAME, IdIndex

DUPLICATE = "duplicate-portal-id"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files lint reads whole for their ids (the index spares the others)."""
    seen: list[str] = []
    real = project_module.read_bounded

    def counting(path: Path | str, limit: int, repository: object = None) -> bytes:
        seen.append(os.path.basename(path))
        return real(path, limit, repository)  # type: ignore[arg-type]

    monkeypatch.setattr(project_module, "read_bounded", counting)
    return seen


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as old at once: no 2 s wait per test. The racy
    window itself is tested on its own, below."""
    monkeypatch.setattr(id_index, "GRANULARITY_NS", 0)
    monkeypatch.setattr(id_index, "COARSE_GRANULARITY_NS", 0)


def _portals(project: Path, *names: str) -> None:
    for name in names:
        (project / "portals" / f"{name}.yaml").write_text(VALID.format(portal=name))


def _lint_new(invoke: Invoke, name: str = "new") -> str:
    result = invoke("lint", f"portals/{name}.yaml")
    return result.output


def test_a_second_run_reads_no_unchanged_file(
    project: Path, invoke: Invoke, reads: list[str], settled: None
) -> None:
    _portals(project, "a", "b", "c", "new")
    assert DUPLICATE not in _lint_new(invoke)
    assert sorted(reads) == ["a.yaml", "b.yaml", "c.yaml"]
    assert (project / ".portal-config" / NAME).is_file()
    reads.clear()
    assert DUPLICATE not in _lint_new(invoke)
    assert reads == []


def test_an_edit_to_another_file_is_seen(
    project: Path, invoke: Invoke, reads: list[str], settled: None
) -> None:
    _portals(project, "a", "b", "new")
    _lint_new(invoke)
    (project / "portals" / "b.yaml").write_text(VALID.format(portal="new") + "# a longer file\n")
    reads.clear()
    assert "portal id 'new' is also used in portals/b.yaml" in _lint_new(invoke)
    assert "b.yaml" in reads and "a.yaml" not in reads


def test_an_edit_of_the_same_size_and_mtime_is_seen(
    project: Path, invoke: Invoke, reads: list[str], settled: None
) -> None:
    _portals(project, "abc", "new")
    _lint_new(invoke)
    other = project / "portals" / "abc.yaml"
    before = other.stat()
    other.write_text(VALID.format(portal="new"))  # "abc" -> "new": the same size
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert other.stat().st_size == before.st_size
    assert other.stat().st_mtime_ns == before.st_mtime_ns
    assert "is also used in portals/abc.yaml" in _lint_new(invoke)


def test_renames_and_deletions_are_seen(
    project: Path, invoke: Invoke, reads: list[str], settled: None
) -> None:
    _portals(project, "a", "new")
    (project / "portals" / "b.yaml").write_text(VALID.format(portal="new"))
    assert "is also used in portals/b.yaml" in _lint_new(invoke)
    (project / "portals" / "b.yaml").rename(project / "portals" / "c.yaml")
    assert "is also used in portals/c.yaml" in _lint_new(invoke)
    (project / "portals" / "a.yaml").unlink()
    (project / "portals" / "c.yaml").rename(project / "portals" / "a.yaml")  # over a's path
    assert "is also used in portals/a.yaml" in _lint_new(invoke)
    (project / "portals" / "a.yaml").unlink()
    assert DUPLICATE not in _lint_new(invoke)
    index = (project / ".portal-config" / NAME).read_text()
    assert "a.yaml" not in index and "c.yaml" not in index and "b.yaml" not in index


def test_a_file_changed_within_the_timestamp_granularity_is_read_again(tmp_path: Path) -> None:
    """Racy git: a change within one timestamp tick of the read can leave every stat
    field as it was, so such an entry is never trusted, however its stat matches."""
    index = IdIndex(str(tmp_path / "cache"))  # the run starts
    portal = tmp_path / "a.yaml"
    portal.write_text(VALID.format(portal="a"))  # the file is written while it runs
    status = portal.stat()
    index.record(str(portal), status, "a")
    index.save()
    again = IdIndex(str(tmp_path / "cache"))
    assert again.lookup(str(portal), status) is None  # written during the run: not trusted
    # The same file, as if its mtime and ctime were an hour before the index was written.
    hour = 3600 * 10**9
    old = SimpleNamespace(
        st_ino=status.st_ino,
        st_size=status.st_size,
        st_mtime_ns=status.st_mtime_ns - hour,
        st_ctime_ns=status.st_ctime_ns - hour,
    )
    index.record(str(portal), old, "a")  # type: ignore[arg-type]
    index.save()
    assert IdIndex(str(tmp_path / "cache")).lookup(str(portal), old) == "a"  # type: ignore[arg-type]


def test_the_window_is_the_file_systems_timestamp_granularity(tmp_path: Path) -> None:
    """Nanosecond stamps come from the kernel's coarse clock (a tick behind); whole-second
    stamps (ext3, HFS+, FAT's two) are truncated: a change a second later can keep them."""
    index = IdIndex(str(tmp_path / "cache"))
    second = 10**9

    def stamped(when: int) -> SimpleNamespace:
        return SimpleNamespace(st_ino=1, st_size=2, st_mtime_ns=when, st_ctime_ns=when)

    def fine(ago: int) -> SimpleNamespace:
        when = index.started - ago
        return stamped(when + 1 if when % second == 0 else when)

    def whole_seconds(ago: int) -> SimpleNamespace:
        return stamped((index.started - ago) // second * second)

    fine_recent, fine_old = fine(50_000_000), fine(second)  # 50 ms and 1 s before the run
    coarse_old, coarse_older = whole_seconds(second), whole_seconds(3 * second)  # 1-2, 3-4 s
    for name, status in [
        ("f1", fine_recent),
        ("f2", fine_old),
        ("c1", coarse_old),
        ("c2", coarse_older),
    ]:
        index.record(name, status, name)  # type: ignore[arg-type]
    index.save()
    again = IdIndex(str(tmp_path / "cache"))
    assert again.lookup("f1", fine_recent) is None  # type: ignore[arg-type]
    assert again.lookup("f2", fine_old) == "f2"  # type: ignore[arg-type]
    assert again.lookup("c1", coarse_old) is None  # type: ignore[arg-type]
    assert again.lookup("c2", coarse_older) == "c2"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "damage",
    [
        "garbage\n",
        "",
        f"portal-config {NAME} 1\tnot-a-number\n",
        f"portal-config {NAME} 1\t0\n/x/new.yaml\t1\t2\n",  # a line cut short
        "\udcff",  # not UTF-8
    ],
)
def test_a_damaged_index_is_never_trusted(
    project: Path, invoke: Invoke, reads: list[str], settled: None, damage: str
) -> None:
    _portals(project, "a", "new")
    (project / "portals" / "b.yaml").write_text(VALID.format(portal="new"))
    _lint_new(invoke)
    cache = project / ".portal-config" / NAME
    cache.write_bytes(damage.encode("utf-8", "surrogateescape"))
    reads.clear()
    assert "is also used in portals/b.yaml" in _lint_new(invoke)
    assert sorted(reads) == ["a.yaml", "b.yaml"]
    assert cache.read_text().startswith(f"portal-config {NAME} 1\t")  # written anew


def test_an_index_that_lies_about_a_changed_file_is_not_believed(
    project: Path, invoke: Invoke, settled: None
) -> None:
    _portals(project, "a", "new")
    _lint_new(invoke)
    cache = project / ".portal-config" / NAME
    cache.write_text(cache.read_text().replace("\ta\n", "\tz\n"))
    (project / "portals" / "a.yaml").write_text(VALID.format(portal="new"))
    assert "is also used in portals/a.yaml" in _lint_new(invoke)


def test_an_index_that_is_a_link_is_not_read(
    project: Path, invoke: Invoke, reads: list[str], settled: None
) -> None:
    _portals(project, "a", "new")
    _lint_new(invoke)
    cache = project / ".portal-config" / NAME
    cache.rename(project / "elsewhere")
    cache.symlink_to(project / "elsewhere")
    reads.clear()
    _lint_new(invoke)
    assert reads == ["a.yaml"]


def test_links_in_the_cache_directory_make_lint_write_nowhere_else(
    project: Path, invoke: Invoke, tmp_path_factory: pytest.TempPathFactory, settled: None
) -> None:
    """A pull request can commit `.portal-config` as a link, or a dangling link as its
    .gitignore: lint then writes no index there, and creates nothing where they lead."""
    outside = tmp_path_factory.mktemp("outside")
    _portals(project, "a", "new")
    (project / ".portal-config").symlink_to(outside)
    assert DUPLICATE not in _lint_new(invoke)
    assert list(outside.iterdir()) == []
    (project / ".portal-config").unlink()
    (project / ".portal-config").mkdir()
    (project / ".portal-config" / ".gitignore").symlink_to(outside / "created")
    assert DUPLICATE not in _lint_new(invoke)
    assert list(outside.iterdir()) == []
    assert (project / ".portal-config" / NAME).is_file()


def test_the_index_is_never_committed(project: Path, invoke: Invoke, settled: None) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    _portals(project, "a", "new")
    _lint_new(invoke)
    assert (project / ".portal-config" / NAME).is_file()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".portal-config" not in status
    assert "portals/a.yaml" in status


@pytest.mark.slow  # twelve processes
def test_processes_at_once_each_get_the_right_answer(project: Path) -> None:
    """Several linters writing the index at once: each answer is right, and the index
    left behind is whole (an atomic rename, never a torn write)."""
    _portals(project, *(f"p{i}" for i in range(200)))
    for i in range(6):
        (project / "portals" / f"dup{i}.yaml").write_text(VALID.format(portal=f"p{i}"))
    for _ in range(2):
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "portal_config", "lint", f"portals/dup{i}.yaml"],
                cwd=project,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(6)
        ]
        for i, process in enumerate(processes):
            output, _ = process.communicate(timeout=60)
            assert f"portal id 'p{i}' is also used in portals/p{i}.yaml" in output
            assert output.count(f"error [{DUPLICATE}]") == 1
    text = (project / ".portal-config" / NAME).read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1 + 205
    assert [n for n in os.listdir(project / ".portal-config") if n.startswith(".lint")] == []


@pytest.mark.parametrize(
    ("other", "duplicate"),
    [
        ("portal: >-\n  new\nguest_workorder:\n  enabled: false\n", True),
        ("portal: |-\n  new\nguest_workorder:\n  enabled: false\n", True),
        # The real key quoted, and a `portal:` line inside a multi-line string.
        (
            '"portal": new\ndescription: "x\nportal: decoy\n  "\nguest_workorder:\n  enabled: false\n',
            True,
        ),
        # A `portal: new` inside a flow sequence is no key: this file's id is decoy.
        (
            "portal: decoy\ndescription: [x,\nportal: new]\nguest_workorder:\n  enabled: false\n",
            False,
        ),
    ],
    ids=["folded", "literal", "quoted-key", "flow"],
)
def test_a_portal_id_only_loading_can_tell_is_loaded_not_guessed_from_a_line(
    project: Path, invoke: Invoke, other: str, duplicate: bool
) -> None:
    # pre-commit lints the changed file alone: the other file's id must still be its real
    # one, or a pull request adds a second file for a portal and lint says no problems.
    _portals(project, "new")
    (project / "portals" / "other.yaml").write_text(other)
    output = _lint_new(invoke)
    assert ("portal id 'new' is also used in portals/other.yaml" in output) is duplicate
