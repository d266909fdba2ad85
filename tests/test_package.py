"""What a user installs: the wheel carries every published schema and init template.

In the repository the package's schema files are symlinks to schema/, so comparing them
there would compare a file with itself; only a built wheel shows what ships.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
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

    assert wheel.name.startswith(f"portal_config-{__version__}-")
    assert '\nversion = "' not in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and f"## [{__version__}]" in changelog


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
