"""Files stay in the repository: every command reads only regular files, a bounded amount,
and follows a symbolic link only to a YAML file inside the project (issue 15, point 4).

The cases a real process matters for run as one: /proc/self/environ is the environment
the process started with, a FIFO hangs a process (so each such run has a timeout), and
/dev/zero grows a process's memory (so that run has an address-space limit).
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import VALID, Invoke, run_cli
from portal_config.file_access import Repository, UnreadableFile, read_bounded
from portal_config.sandbox import Sandbox

MARKER = "hostile-environment-d41d8cd9"
OUTSIDE = "symbolic link leads outside the repository; refusing to follow it"
FIFO = "not a regular file (a FIFO); refusing to read it"


def _run(*args: str, cwd: Path, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """portal-config in its own process, ended after 20 s: a hang fails, it does not block
    the suite. The environment carries a marker no output may show."""
    environment = dict(os.environ, SECRET_FOR_THE_TEST=MARKER, NO_COLOR="1")
    return run_cli(cwd, *args, env=environment, timeout=20, memory=memory)


def _beside(tmp_path: Path, name: str) -> Path:
    """A new directory next to the project: outside it, as a link's target can be."""
    directory = tmp_path.parent / f"{tmp_path.name}-{name}"
    directory.mkdir()
    return directory


def _portal(project: Path, name: str) -> Path:
    path = project / "portals" / f"{name}.yaml"
    path.write_text(VALID.format(portal=name), encoding="utf-8")
    return path


# -- lint -------------------------------------------------------------------------------------
def test_lint_refuses_a_fifo_without_waiting_for_a_writer(project: Path) -> None:
    _portal(project, "acme")
    os.mkfifo(project / "portals" / "pipe.yaml")
    done = _run("lint", cwd=project)
    assert done.stdout.splitlines()[0] == (f"portals/pipe.yaml:1:1: error [yaml] {FIFO}")
    assert done.stdout.splitlines()[-1] == "2 files checked: 1 error, 0 warnings (failed)"
    assert done.returncode == 1


def test_a_link_to_the_environment_never_reaches_the_output(project: Path) -> None:
    _portal(project, "acme")
    (project / "portals" / "env.yaml").symlink_to("/proc/self/environ")
    done = _run("lint", cwd=project)
    assert done.stdout.splitlines() == [
        f"portals/env.yaml:1:1: error [yaml] {OUTSIDE}",
        "",
        "  1  error    yaml",
        "2 files checked: 1 error, 0 warnings (failed)",
    ]
    assert MARKER not in done.stdout + done.stderr
    assert done.returncode == 1


def test_lint_reads_a_link_inside_the_repository(project: Path, invoke: Invoke) -> None:
    _portal(project, "acme")
    (project / "portals" / "alias.yaml").symlink_to("acme.yaml")
    result = invoke("lint", "--format", "json")
    assert result.exit_code == 1
    # Read through the link: its content is the other file's, so the id is duplicated.
    assert '"rule": "duplicate-portal-id"' in result.output
    assert "symbolic link" not in result.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("../.git/config", "symbolic link leads into a hidden directory; refusing to follow it"),
        (
            "../notes.txt",
            "symbolic link leads to a file that is not .yaml or .yml; refusing to follow it",
        ),
        ("../../outside.yaml", OUTSIDE),
    ],
)
def test_lint_refuses_links_that_leave_the_portal_files(
    project: Path, invoke: Invoke, target: str, message: str
) -> None:
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[http]\n\textraheader = AUTHORIZATION: basic x\n")
    (project / "notes.txt").write_text("portal: acme\n")
    (project.parent / "outside.yaml").write_text(VALID.format(portal="outside"))
    (project / "portals" / "link.yaml").symlink_to(target)
    result = invoke("lint", "--format", "text")
    assert result.stdout.splitlines()[0] == f"portals/link.yaml:1:1: error [yaml] {message}"
    assert "extraheader" not in result.output
    assert result.exit_code == 1


def _portals_outside(tmp_path: Path, name: str) -> Path:
    """A folder beside the test's own, outside the project, holding one valid portal file."""
    elsewhere = tmp_path.parent / f"{tmp_path.name}-{name}"
    elsewhere.mkdir()
    (elsewhere / "acme.yaml").write_text(VALID.format(portal="acme"))
    return elsewhere


def test_a_portals_directory_linked_out_of_the_repository_is_refused(
    tmp_path: Path, project: Path, invoke: Invoke
) -> None:
    elsewhere = _portals_outside(tmp_path, "elsewhere")
    (project / "portals").rmdir()
    (project / "portals").symlink_to(elsewhere)
    result = invoke("lint")
    # Not walked (a link to / would walk the machine): the link itself is the one line.
    assert result.stdout.splitlines() == [
        f"portals:1:1: error [yaml] {OUTSIDE}",
        "",
        "  1  error    yaml",
        "1 file checked: 1 error, 0 warnings (failed)",
    ]
    assert result.exit_code == 1


def test_a_linked_subdirectory_is_one_line_in_lint_and_fmt_never_unchecked(
    tmp_path: Path, project: Path, invoke: Invoke
) -> None:
    # A walk never enters a link to a directory: its files would otherwise go unchecked
    # with "no problems", so the link itself is refused, out of the repository or in it.
    elsewhere = _portals_outside(tmp_path, "subdir")
    (project / "portals" / "outside").symlink_to(elsewhere)
    (project / "shared").mkdir()
    (project / "portals" / "inside").symlink_to(project / "shared")
    lint = invoke("lint")
    assert lint.stdout.splitlines() == [
        "portals/inside:1:1: error [yaml] symbolic link leads to a directory; refusing to"
        " follow it (link the files)",
        f"portals/outside:1:1: error [yaml] {OUTSIDE}",
        "",
        "  2  error    yaml",
        "2 files checked: 2 errors, 0 warnings (failed)",
    ]
    assert lint.exit_code == 1
    fmt = invoke("fmt", "--check")
    assert fmt.exit_code == 1
    assert f"portals/outside:1:1: error [yaml] {OUTSIDE}\n" in fmt.output


def test_a_file_named_outside_the_project_is_read_through_its_links(
    tmp_path: Path, project: Path, invoke: Invoke
) -> None:
    """Only links below the project's root are a pull request's; a path the caller names
    elsewhere (a shared folder reached through a link) is theirs, and read as named."""
    elsewhere = _portals_outside(tmp_path, "shared")
    link = tmp_path.parent / f"{tmp_path.name}-link"
    link.symlink_to(elsewhere)
    result = invoke("lint", str(link / "acme.yaml"), str(link))
    assert result.stdout == "1 file checked: no problems\n"
    assert result.exit_code == 0


def test_lint_refuses_a_device_named_on_the_command_line(project: Path, invoke: Invoke) -> None:
    result = invoke("lint", "/dev/zero")
    assert result.stdout.splitlines()[0] == (
        "/dev/zero:1:1: error [yaml] not a regular file (a character device); refusing to read it"
    )
    assert result.exit_code == 1


def test_lint_refuses_a_socket(project: Path, invoke: Invoke) -> None:
    listening = socket.socket(socket.AF_UNIX)
    try:
        listening.bind(str(project / "portals" / "s.yaml"))
        result = invoke("lint")
    finally:
        listening.close()
    assert result.stdout.splitlines()[0] == (
        "portals/s.yaml:1:1: error [yaml] not a regular file (a socket); refusing to read it"
    )


def test_lint_refuses_a_fifo_as_the_catalog(project: Path) -> None:
    _portal(project, "acme")
    os.mkfifo(project / "worktypes.yaml")
    done = _run("lint", cwd=project)
    assert done.stdout.splitlines()[0] == f"worktypes.yaml:1:1: error [yaml] {FIFO}"
    assert done.returncode == 1


def test_a_config_linked_to_the_environment_is_refused(project: Path) -> None:
    (project / "portal-config.yaml").symlink_to("/proc/self/environ")
    done = _run("lint", cwd=project)
    assert done.stderr == f"invalid config: portal-config.yaml:1:1: {OUTSIDE}\n"
    assert MARKER not in done.stdout + done.stderr
    assert done.returncode == 2


# -- fmt --------------------------------------------------------------------------------------
def test_fmt_check_on_a_link_to_dev_zero_is_one_line_not_a_memory_error(project: Path) -> None:
    _portal(project, "acme")
    (project / "portals" / "zero.yaml").symlink_to("/dev/zero")
    # 1 GiB of address space: today's unbounded read hit MemoryError well inside it.
    done = _run("fmt", "--check", cwd=project, memory=2**30)
    assert done.stdout == (
        f"portals/zero.yaml:1:1: error [yaml] {OUTSIDE}\n"
        "fmt: 0 would be reformatted, 1 already formatted, 1 failed.\n"
    )
    assert done.stderr == ""
    assert done.returncode == 1


def test_fmt_refuses_a_fifo_and_the_environment(project: Path) -> None:
    os.mkfifo(project / "portals" / "pipe.yaml")
    (project / "portals" / "env.yaml").symlink_to("/proc/self/environ")
    done = _run("fmt", cwd=project)
    assert done.stdout == (
        f"portals/env.yaml:1:1: error [yaml] {OUTSIDE}\n"
        f"portals/pipe.yaml:1:1: error [yaml] {FIFO}\n"
        "fmt: 0 reformatted, 0 already formatted, 2 failed.\n"
    )
    assert done.returncode == 1


def test_fmt_rewrites_the_file_a_link_inside_the_repository_leads_to(
    project: Path, invoke: Invoke
) -> None:
    real = project / "portals" / "acme.yaml"
    real.write_text("guest_workorder:\n  enabled: yes\n  work_types: [Storing]\nportal: acme\n")
    (project / "shared").mkdir()
    link = project / "shared" / "acme.yaml"
    link.symlink_to("../portals/acme.yaml")
    result = invoke("fmt", "shared/acme.yaml")
    assert (
        result.output
        == "reformatted shared/acme.yaml\nfmt: 1 reformatted, 0 already formatted, 0 failed.\n"
    )
    assert link.is_symlink()
    assert real.read_text() == (
        "portal: acme\nguest_workorder:\n  enabled: true\n  work_types:\n    - Storing\n"
    )


# -- diff, show, pull -------------------------------------------------------------------------
def test_diff_refuses_a_link_out_of_the_repository(live_project: Path, invoke: Invoke) -> None:
    (live_project / "portals" / "env.yaml").symlink_to("/proc/self/environ")
    result = invoke("diff")
    assert f"portals/env.yaml:1:1: error [yaml] {OUTSIDE}" in result.output.splitlines()
    assert result.exit_code == 1


def test_show_refuses_a_fifo_as_a_plan(project: Path) -> None:
    os.mkfifo(project / "plan.json")
    done = _run("show", "plan.json", cwd=project)
    assert done.stderr == f"invalid plan: plan.json: {FIFO}\n"
    assert done.returncode == 2


def test_pull_refuses_to_replace_a_link_out_of_the_repository(
    live_project: Path, invoke: Invoke
) -> None:
    acme = live_project / "portals" / "acme-facilities.yaml"
    acme.unlink()
    acme.symlink_to("/proc/self/environ")
    result = invoke("pull", "--portal", "acme-facilities", "--no-catalog")
    refusal = f"refused: portals/acme-facilities.yaml:1:1: {OUTSIDE}"
    assert refusal in result.output.splitlines()
    assert acme.is_symlink()
    assert result.exit_code == 1


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.parametrize("in_git", [True, False], ids=["git-ignored", "no-git"])
def test_pull_replaces_what_it_wrote_itself_without_force(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, in_git: bool
) -> None:
    if in_git:
        _git("init", "-q", cwd=live_project)
        (live_project / ".gitignore").write_text("pulled/\n")
    assert invoke("pull", "--dir", "pulled", "--no-catalog").exit_code == 0
    sandbox.state.edit("acme-facilities", allow_address_change=True)
    result = invoke("pull", "--dir", "pulled", "--no-catalog")
    assert "wrote pulled/acme-facilities.yaml" in result.output.splitlines()
    assert (
        "allow_address_change: true"
        in (live_project / "pulled" / "acme-facilities.yaml").read_text()
    )
    assert result.exit_code == 0, result.output


IGNORED = "it is ignored by git"
NO_GIT = "it is not in a git repository"


@pytest.mark.parametrize(
    ("in_git", "edit", "reason"),
    [(True, True, IGNORED), (False, True, NO_GIT), (False, False, NO_GIT)],
    ids=["git-ignored-edited", "no-git-edited", "no-git-record-damaged"],
)
def test_pull_refuses_a_file_that_is_not_what_it_last_wrote(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, in_git: bool, edit: bool, reason: str
) -> None:
    """A local edit in a directory git does not watch, or a lost record of what pull
    wrote: either way the file is kept and --force is asked for."""
    if in_git:
        _git("init", "-q", cwd=live_project)
        (live_project / ".gitignore").write_text("pulled/\n")
    assert invoke("pull", "--dir", "pulled", "--no-catalog").exit_code == 0
    acme = live_project / "pulled" / "acme-facilities.yaml"
    if edit:
        acme.write_text(acme.read_text() + "# a local edit\n")
    else:
        (record,) = (live_project / ".portal-config" / "pulled").iterdir()
        record.write_text("[not a record")
    before = acme.read_text()
    sandbox.state.edit("acme-facilities", allow_address_change=True)
    result = invoke("pull", "--dir", "pulled", "--no-catalog")
    assert (
        f"refused: pulled/acme-facilities.yaml: {reason}, so local edits cannot be ruled out; "
        "commit or stash them, or pass --force"
    ) in result.output.splitlines()
    assert acme.read_text() == before
    assert result.exit_code == 1


def test_pull_writes_its_files_when_its_record_cannot_be_kept(
    live_project: Path, invoke: Invoke
) -> None:
    (live_project / ".portal-config").write_text("a file where the state directory goes\n")
    result = invoke("pull", "--dir", "pulled", "--no-catalog")
    assert "wrote pulled/acme-facilities.yaml" in result.output.splitlines()
    assert result.exit_code == 0, result.output


# -- the reader itself ------------------------------------------------------------------------
def test_a_read_stops_one_byte_past_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 10_000)
    assert read_bounded(big, 100, Repository(tmp_path)) == b"x" * 101
    assert read_bounded(big, 20_000) == b"x" * 10_000


def test_a_link_replaced_later_is_seen_by_the_next_run(tmp_path: Path) -> None:
    """One Repository per run: a directory swapped for a link in a long-lived process
    is checked again by the next run, not trusted from the last one."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.yaml").write_text("secret: 1\n")
    root = tmp_path / "repo"
    (root / "portals").mkdir(parents=True)
    (root / "portals" / "a.yaml").write_text("portal: a\n")
    assert read_bounded(root / "portals" / "a.yaml", 100, Repository(root)) == b"portal: a\n"
    (root / "portals" / "a.yaml").unlink()
    (root / "portals").rmdir()
    (root / "portals").symlink_to(outside)
    with pytest.raises(UnreadableFile, match="leads outside the repository"):
        read_bounded(root / "portals" / "a.yaml", 100, Repository(root))


# -- writes stay in the repository too ----------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "link", "summary"),
    [
        ((), "portals", "Pull: 0 written, 1 unchanged, 1 refused."),
        (("--dir", "pd3", "--no-catalog"), "pd3", "Pull: 0 written, 0 unchanged, 1 refused."),
    ],
    ids=["portals-linked", "dir-linked"],
)
def test_pull_writes_nothing_through_a_directory_linked_out_of_the_repository(
    tmp_path: Path,
    live_project: Path,
    invoke: Invoke,
    args: tuple[str, ...],
    link: str,
    summary: str,
) -> None:
    """A pull request can commit `portals` as a link to any directory on the runner: pull
    refuses it with lint's one line, as a read would be, and writes nothing there."""
    elsewhere = _beside(tmp_path, "elsewhere")
    if link == "portals":
        (live_project / "portals").rename(live_project / "portals.real")
    (live_project / link).symlink_to(elsewhere)
    result = invoke("pull", *args)
    assert result.output.splitlines()[1:] == [f"refused: {link}:1:1: {OUTSIDE}", summary]
    assert list(elsewhere.iterdir()) == []
    assert result.exit_code == 1


def test_pull_writes_no_catalog_through_a_linked_directory(
    tmp_path: Path, live_project: Path, invoke: Invoke
) -> None:
    elsewhere = _beside(tmp_path, "catalog")
    (live_project / "data").symlink_to(elsewhere)
    config = live_project / "portal-config.yaml"
    config.write_text(config.read_text() + "catalog: data/worktypes.yaml\n")
    result = invoke("pull", "--portal", "acme-facilities", "--dir", "pulled")
    assert result.output.splitlines()[1:] == [
        "wrote pulled/acme-facilities.yaml",
        f"refused: data:1:1: {OUTSIDE}",
        "Pull: 1 written, 0 unchanged, 1 refused.",
    ]
    assert list(elsewhere.iterdir()) == []
    assert result.exit_code == 1


def test_pull_keeps_no_record_through_a_state_directory_linked_out(
    tmp_path: Path, live_project: Path, invoke: Invoke
) -> None:
    """The record of what pull wrote is local state: a committed `.portal-config` link is
    not followed, and pull still writes its files (an unsaved record only asks for --force)."""
    elsewhere = _beside(tmp_path, "state")
    (live_project / ".portal-config").symlink_to(elsewhere)
    result = invoke("pull", "--dir", "pulled", "--no-catalog")
    assert "wrote pulled/acme-facilities.yaml" in result.output.splitlines()
    assert list(elsewhere.iterdir()) == []
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("option", "command"),
    [("--out", ("diff",)), ("--report", ("apply", "--yes"))],
)
def test_an_output_file_is_not_written_through_a_link_into_git(
    live_project: Path, invoke: Invoke, option: str, command: tuple[str, ...]
) -> None:
    """--out and --report name any path the user likes; below the project, a link on the
    way may not lead out of it or into .git, as no other write may."""
    (live_project / ".git").mkdir()
    (live_project / "plans").symlink_to(".git")
    result = invoke(*command, option, "plans/config")
    assert result.output == (
        f"error: {option} plans/config: plans: symbolic link leads into a hidden directory; "
        "refusing to follow it\n"
    )
    assert not (live_project / ".git" / "config").exists()
    assert result.exit_code == 2


def test_an_output_file_outside_the_project_is_written_as_named(
    tmp_path: Path, live_project: Path, invoke: Invoke
) -> None:
    runner_temp = _beside(tmp_path, "temp")
    link = tmp_path.parent / f"{tmp_path.name}-temp-link"
    link.symlink_to(runner_temp)
    result = invoke("diff", "--out", str(link / "plan.json"))
    assert result.exit_code == 3, result.output  # the demo account differs from its files
    assert (runner_temp / "plan.json").is_file()


def test_init_writes_nothing_through_a_link_out_of_the_directory(
    tmp_path: Path, project: Path, invoke: Invoke
) -> None:
    elsewhere = _beside(tmp_path, "schema")
    (project / "schema").symlink_to(elsewhere)
    result = invoke("init")
    assert result.output.splitlines()[-1] == (
        f"error: schema/portal.schema.json: not written: schema: {OUTSIDE}"
    )
    assert list(elsewhere.iterdir()) == []
    assert result.exit_code == 2


def test_writes_follow_links_that_stay_in_the_repository(tmp_path: Path) -> None:
    """Links above the root (an alias of the checkout, /tmp on macOS) are the machine's;
    links inside it may lead anywhere in it, and within the tool's own hidden state."""
    root = tmp_path / "repo"
    (root / "portals.real").mkdir(parents=True)
    (root / "portals").symlink_to("portals.real")
    (root / ".portal-config" / "real").mkdir(parents=True)
    (root / ".portal-config" / "pulled").symlink_to("real")
    (root / ".github").mkdir()
    (root / ".github" / "workflows").symlink_to("../.git")
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    repository = Repository(root)
    assert repository.write_refusal(root / "portals" / "a.yaml") is None
    assert repository.write_refusal(alias / "portals" / "a.yaml") is None
    assert repository.write_refusal(root / ".portal-config" / "pulled" / "x.json") is None
    assert repository.write_refusal(root / ".github" / "workflows" / "d.yml") == (
        str(root / ".github" / "workflows"),
        "symbolic link leads into a hidden directory; refusing to follow it",
    )
    assert repository.write_refusal(tmp_path / "elsewhere" / "a.yaml") is None


# -- an alias of the repository is the repository ----------------------------------------------
def test_a_path_through_an_alias_of_the_repository_is_checked_as_the_repository(
    tmp_path: Path, project: Path, invoke: Invoke
) -> None:
    secret = tmp_path.parent / f"{tmp_path.name}-secret.yaml"
    secret.write_text(f"SECRET={MARKER}\n")
    (project / "portals" / "leak.yaml").symlink_to(secret)
    alias = tmp_path.parent / f"{tmp_path.name}-plink"
    alias.symlink_to(project)
    aliased = f"../{alias.name}/portals/leak.yaml"  # as lint shows a path beside the cwd
    for path, shown in (
        ("portals/leak.yaml", "portals/leak.yaml"),
        (str(alias / "portals" / "leak.yaml"), aliased),
    ):
        result = invoke("lint", path)
        assert result.stdout.splitlines()[0] == f"{shown}:1:1: error [yaml] {OUTSIDE}"
        assert MARKER not in result.output
        assert result.exit_code == 1


def test_a_size_that_understates_the_file_is_not_trusted() -> None:
    """fstat only sizes the first read: /proc's files are regular files of size 0, and a
    file may grow between fstat and read. Either is read on to its end or the limit."""
    assert os.stat("/proc/self/maps").st_size == 0
    whole = read_bounded("/proc/self/maps", 1_000_000)
    assert len(whole) > 100 and whole.endswith(b"\n")
    assert len(read_bounded("/proc/self/maps", 50)) == 51
