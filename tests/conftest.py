from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portal_config.cli import cli

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

VALID = """\
portal: {portal}
guest_workorder:
  enabled: true
  work_types:
    - Storing
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory with a portals/ folder, as the cwd."""
    (tmp_path / "portals").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


Write = Callable[[str, str], Path]


@pytest.fixture
def write(project: Path) -> Write:
    def _write(relative: str, text: str) -> Path:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    def _invoke(*args: str, **kwargs: object) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)  # type: ignore[arg-type]

    return _invoke
