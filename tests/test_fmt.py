"""`portal-config fmt`: the canonical form, comments kept, meaning never changed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, Invoke, Write
from guest import FLAGS, guest_settings
from portal_config.files.canonical import format_bytes, render_portal
from portal_config.files.roundtrip import scalar
from portal_config.lint.loader import load_bytes
from portal_config.settings.model import PortalSettings

CANONICAL = """\
# yaml-language-server: $schema=../schema/portal.schema.json
portal: a
guest_workorder:
  enabled: true
  work_types:
    - Storing
"""


def test_fmt_normalizes_and_keeps_comments(write: Write, invoke: Invoke) -> None:
    path = write(
        "portals/a.yaml",
        """\
        # yaml-language-server: $schema=../schema/portal.schema.json
        # portal-config: disable permissive-guest-access
        description: "Tenants report faults."  # shown to reviewers only
        # The id is the file name.
        portal: a
        guest_workorder: {work_types: [Storing, "NO", "010", '1:30'], allow_new_relation: yes, enabled: on}
        acknowledged:
          allow_new_relation: "Prospects use the guest form."
        """,
    )
    result = invoke("fmt")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "reformatted portals/a.yaml\nfmt: 1 reformatted, 0 already formatted, 0 failed.\n"
    )
    assert path.read_text() == (
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "# portal-config: disable permissive-guest-access\n"
        "# The id is the file name.\n"
        "portal: a\n"
        "description: Tenants report faults.    # shown to reviewers only\n"
        "guest_workorder:\n"
        "  enabled: true\n"
        "  allow_new_relation: true\n"
        "  work_types:\n"
        "    - Storing\n"
        "    - 'NO'\n"
        "    - '010'\n"
        "    - '1:30'\n"
        "acknowledged:\n"
        "  allow_new_relation: Prospects use the guest form.\n"
    )
    assert invoke("lint").exit_code == 0
    again = invoke("fmt", "--check")
    assert (again.exit_code, again.output) == (
        0,
        "fmt: 0 would be reformatted, 1 already formatted, 0 failed.\n",
    )


def test_fmt_check_lists_what_would_change_and_writes_nothing(write: Write, invoke: Invoke) -> None:
    write("portals/a.yaml", CANONICAL)
    flow = write("portals/b.yaml", "portal: b\nguest_workorder: {enabled: false}\n")
    before = flow.read_bytes()
    result = invoke("fmt", "--check")
    assert (result.exit_code, result.output) == (
        1,
        "would reformat portals/b.yaml\n"
        "fmt: 1 would be reformatted, 1 already formatted, 0 failed.\n",
    )
    assert flow.read_bytes() == before
    assert invoke("fmt", "--check", "portals/a.yaml").exit_code == 0


def test_fmt_reports_files_it_cannot_format_and_leaves_them(write: Write, invoke: Invoke) -> None:
    broken = write("portals/a.yaml", "portal: [\n")
    ambiguous = write(
        "portals/b.yaml", "portal: b\nguest_workorder:\n  enabled: true\n  work_types: [NO]\n"
    )
    texts = broken.read_text(), ambiguous.read_text()
    result = invoke("fmt")
    assert result.exit_code == 1
    assert result.output == (
        "portals/a.yaml:2:1: error [yaml] syntax error: did not find expected node content "
        "(while parsing a flow node at 2:1)\n"
        "portals/b.yaml:4:16: error [fmt] fmt leaves this file alone until it is fixed: `NO` "
        'was read as a boolean false (YAML 1.1 reads yes/no/on/off as booleans); quote it: "NO"\n'
        "fmt: 0 reformatted, 0 already formatted, 2 failed.\n"
    )
    assert (broken.read_text(), ambiguous.read_text()) == texts


def test_the_shipped_portals_and_new_pulled_files_are_canonical() -> None:
    for path in sorted((REPO / "portals").glob("*.yaml")):
        formatted = format_bytes(path.read_bytes(), path.name)
        assert formatted.problems == [] and not formatted.changed, path.name
    settings_ = guest_settings("a", True, allow_new_relation=True, work_types=("NO", "x #y"))
    text = render_portal(settings_, {"description": "d"}, "# modeline")
    assert format_bytes(text.encode(), "a.yaml").text == text


# -- fmt never changes meaning --------------------------------------------------------------
TRUE = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]
FALSE = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"]
TRICKY = ["NO", "on", "010", "1:30", "Yes: maybe", "#hash", "~", "null", "0x1F", "2024-01-01"]
names = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.sampled_from("ab Zé:#-'\"@`!&*%,[]{}?|>0189."), min_size=1, max_size=12),
).filter(lambda name: name == name.strip() and " #" not in name)


@st.composite
def portal_files(draw: st.DrawFn) -> str:
    """A valid portal file, spelled in any of the ways people write YAML."""

    def boolean(value: bool) -> str:
        return draw(st.sampled_from(TRUE if value else FALSE))

    def string(text: str, flow: bool = False) -> str:
        spellings = [json.dumps(text), "'" + text.replace("'", "''") + "'"]
        return draw(st.sampled_from(spellings if flow else [scalar(text), *spellings]))

    def comment() -> str:
        return draw(
            st.sampled_from(["", "  # why", "  # portal-config: disable unknown-work-type"])
        )

    guest = [f"enabled: {boolean(draw(st.booleans()))}{comment()}"]
    guest += [
        f"{flag}: {boolean(draw(st.booleans()))}{comment()}"
        for flag in FLAGS
        if draw(st.booleans())
    ]
    types = draw(st.lists(names, max_size=4, unique=True))
    if types and draw(st.booleans()):
        guest.append(f"work_types: [{', '.join(string(t, flow=True) for t in types)}]")
    elif types:
        guest.append("work_types:" + "".join(f"\n    - {string(t)}{comment()}" for t in types))
    guest = draw(st.permutations(guest))
    top = [
        "portal: p",
        f"description: {string(draw(names))}{comment()}",
        "guest_workorder:\n" + "\n".join(f"  {line}" for line in guest),
    ]
    lines = draw(st.permutations(top))
    above = draw(st.sampled_from(["", "# a comment line\n"]))
    return "# yaml-language-server: $schema=x\n" + "\n".join(above + line for line in lines) + "\n"


@pytest.mark.slow  # 200 generated files through ruamel and lint
@settings(max_examples=200, deadline=None)
@given(portal_files())
def test_fmt_keeps_the_settings_lint_reads(text: str) -> None:
    before = load_bytes(text.encode(), "p.yaml").document
    assert before is not None
    formatted = format_bytes(text.encode(), "p.yaml")
    assert formatted.problems == [], text
    assert formatted.text is not None
    after = load_bytes(formatted.text.encode(), "p.yaml").document
    assert after is not None
    assert PortalSettings.from_file_data(after.data) == PortalSettings.from_file_data(before.data)
    assert after.data["description"] == before.data["description"]
    assert format_bytes(formatted.text.encode(), "p.yaml").text == formatted.text  # idempotent
    assert _comments(formatted.text) == _comments(text)


def _comments(text: str) -> list[str]:
    """The comments of a generated file (no generated string holds ' #')."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found.append(stripped)
        elif " # " in line:
            found.append(line[line.index(" # ") + 1 :])
    return sorted(found)
