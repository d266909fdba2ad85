"""What a user installs: the wheel carries every published schema and init template.

In the repository the package's schema files are symlinks to schema/, so comparing them
there would compare a file with itself; only a built wheel shows what ships.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow

SCHEMAS = (
    "portal.schema.json",
    "plan.schema.json",
    "report.schema.json",
    "config.schema.json",
    "lint.schema.json",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a clone: an in-tree build rewrites src/portal_config/_version.py, which an
    # editable install reads, so the suite would change the version it is testing.
    source = tmp_path_factory.mktemp("source") / "portal-config"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(source)], check=True, timeout=120)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("portal_config-*.whl")
    return built


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_wheel_ships_each_schema_as_published(wheel: Path, name: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"portal_config/{name}")
    assert shipped == (REPO / "schema" / name).read_bytes()


def test_the_version_is_written_once(wheel: Path) -> None:
    from portal_config import __version__

    # Written nowhere in the repository: setuptools-scm takes it from the git tags when the
    # package is built, and the code reads what it wrote (portal_config/_version.py).
    assert '\nversion = "' not in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert not (REPO / "src" / "portal_config" / "_version.py").exists() or _ignored(
        "src/portal_config/_version.py"
    )
    built = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        assert (
            f"__version__ = version = '{built}'"
            in archive.read("portal_config/_version.py").decode()
        )
    assert __version__ == importlib.metadata.version("portal-config")
    # A release's own section is checked by the release recipe, on a tag (the tag test).
    assert "## [Unreleased]" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")


def _ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone with no tags, holding this working tree's files as one more commit."""
    clone = tmp_path_factory.mktemp("clone") / "portal-config"
    _git(REPO.parent, "clone", "--quiet", "--no-tags", str(REPO), str(clone))
    for tag in _git(clone, "tag").split():
        _git(clone, "tag", "-d", tag)
    tracked = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, tracked.split("\0")):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, clone / name)
    _git(clone, "add", "--all")
    _git(clone, "commit", "--quiet", "--allow-empty", "-m", "the working tree")
    return clone


def _build(source: Path, out: Path) -> tuple[Path, Path]:
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def _version_of(wheel: Path, tmp_path: Path) -> str:
    """What `portal-config --version` prints once the wheel is installed."""
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    done = subprocess.run(
        [sys.executable, "-m", "portal_config", "--version"],
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _release_check(checkout: Path, tag: str) -> subprocess.CompletedProcess[str]:
    """The release recipe's step that checks the built files' version and the changelog,
    run as GitHub runs a step, in ``checkout`` (its CHANGELOG.md, its build in dist/)."""
    recipe = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in recipe["jobs"]["build"]["steps"] if "changelog" in s.get("name", "")]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=checkout,
        env={**os.environ, **step["env"], "TAG": tag},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_tag_is_the_version_of_the_wheel_and_the_sdist(clone: Path, tmp_path: Path) -> None:
    # As a release is made (docs/internals/releasing.md): the changes so far become the
    # version's section, committed, then tagged.
    changelog = clone / "CHANGELOG.md"
    unreleased = changelog.read_text(encoding="utf-8")
    released = unreleased.replace("## [Unreleased]\n", "## [Unreleased]\n\n## [9.8.7]\n", 1)
    assert released != unreleased
    changelog.write_text(released, encoding="utf-8")
    _git(clone, "commit", "--quiet", "-am", "portal-config 9.8.7")
    _git(clone, "tag", "-a", "v9.8.7", "-m", "portal-config 9.8.7")
    try:
        wheel, sdist = _build(clone, tmp_path / "dist")
    finally:
        _git(clone, "tag", "-d", "v9.8.7")
        _git(clone, "reset", "--quiet", "--hard", "HEAD~1")  # the clone as the other tests see it
    assert wheel.name == "portal_config-9.8.7-py3-none-any.whl"
    assert sdist.name == "portal_config-9.8.7.tar.gz"
    with tarfile.open(sdist) as archive:
        info = archive.extractfile("portal_config-9.8.7/PKG-INFO")
        assert info is not None and b"\nVersion: 9.8.7\n" in info.read()
    assert _version_of(wheel, tmp_path) == "portal-config, version 9.8.7\n"
    # The recipe's check passes on this build and the changelog at the tag...
    (tmp_path / "CHANGELOG.md").write_text(released, encoding="utf-8")
    done = _release_check(tmp_path, "v9.8.7")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert sorted(done.stdout.split()) == sorted([wheel.name, sdist.name])  # its `ls dist`
    # ...and fails on a changelog without the version's section.
    (tmp_path / "CHANGELOG.md").write_text(unreleased, encoding="utf-8")
    done = _release_check(tmp_path, "v9.8.7")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (
        1,
        "::error::CHANGELOG.md has no section ## [9.8.7]",
    )


def test_a_clone_without_tags_builds_a_development_version(clone: Path, tmp_path: Path) -> None:
    wheel, _ = _build(clone, tmp_path / "dist")
    head = _git(clone, "rev-parse", "HEAD").strip()
    version = wheel.name.split("-")[1]
    # setuptools-scm counts from the fallback 0.0.0 and names the commit.
    assert version.startswith("0.0.1.dev")
    commit = version.split("+g", 1)[1].split(".", 1)[0]
    assert len(commit) >= 7 and head.startswith(commit)
    assert _version_of(wheel, tmp_path) == f"portal-config, version {version}\n"


@pytest.mark.parametrize(
    "name",
    [
        "portal-config-lint.yml",
        "portal-config-diff.yml",
        "portal-config-apply.yml",
        "portal-config-drift.yml",
        "portal-config-fleet-diff.yml",
        "portal-config-fleet-apply.yml",
        "portal-config-fleet-drift.yml",
    ],
)
def test_the_wheel_ships_this_repositorys_workflows_as_init_templates(
    wheel: Path, name: str
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"portal_config/templates/workflows/{name}")
    assert shipped == (REPO / ".github" / "workflows" / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    ["portal-config.yaml", "portal-config.accounts.yaml", "gitignore", "pre-commit-config.yaml"],
)
def test_the_wheel_ships_the_other_init_templates(wheel: Path, name: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(f"portal_config/templates/{name}")
