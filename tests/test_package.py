"""What a user installs: the wheel carries every published schema, byte for byte.

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

SCHEMAS = ("portal.schema.json", "plan.schema.json", "report.schema.json", "lint.schema.json")


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
