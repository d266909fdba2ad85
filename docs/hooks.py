"""MkDocs hook: the parts of the documentation that are data, rendered at build time.

A page asks for a generated part with a line of its own, `<!-- portal-config: NAME ARG -->`,
and the line is replaced by markdown made from the source of truth: every command's
`--help` from the click commands themselves, the configuration and portal keys from
`schema/*.schema.json`, the rules from the rule modules' docstrings, each
machine format's schema, the fault matrix and benchmark figures from the files the test
suite and the benchmark scripts write. Nothing here is committed as generated text, so the
documentation cannot drift from the code. An unknown name fails the build. Text taken from
the code is escaped (`<name>` in a description stays text, not an HTML tag).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schema"
RESULTS = REPO / "docs" / "results"
BENCHMARK_RESULTS = REPO / "benchmarks" / "results"
_MARKER = re.compile(r"^<!-- portal-config: ([a-z-]+)(?: ([^ ]+))? -->$", re.M)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# The width the command reference's --help text is laid out at (click wraps to it).
HELP_WIDTH = 88


def escape(text: str) -> str:
    """Markdown text taken from the code, shown as the text it is: `&`, `<` and `>` outside
    code spans become entities (inside a code span they are already literal)."""
    parts, end = [], 0
    for match in _CODE_SPAN.finditer(text):
        parts += [html.escape(text[end : match.start()], quote=False), match.group(0)]
        end = match.end()
    parts.append(html.escape(text[end:], quote=False))
    return "".join(parts)


def _cell(text: str) -> str:
    """Text for one table cell: one line, HTML escaped, pipes escaped."""
    return escape(" ".join(text.split())).replace("|", "\\|")


def _type(node: dict[str, Any]) -> str:
    if "enum" in node:
        return ", ".join(f"`{value}`" for value in node["enum"])
    kind = node.get("type", "")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k and k != "null"]
    text = " or ".join(kinds)
    if "items" in node and isinstance(node["items"], dict):
        text += f" of {node['items'].get('type', 'values')}"
    bounds = []
    if "minimum" in node:
        bounds.append(f">= {node['minimum']}")
    if "exclusiveMinimum" in node:
        bounds.append(f"> {node['exclusiveMinimum']}")
    if "maximum" in node:
        bounds.append(f"<= {node['maximum']}")
    if "pattern" in node and node["pattern"] != "\\S":
        bounds.append(f"matching `{node['pattern']}`")
    if "maxLength" in node:
        bounds.append(f"at most {node['maxLength']} characters")
    return ", ".join([text, *bounds]) if text else ", ".join(bounds)


def _keys(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every documented key of a schema, depth first, with `<name>` for free-form maps, and
    whether it is required where it appears."""
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        yield prefix + name, child, name in required
        yield from _keys(child, f"{prefix}{name}.")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        label = "<account>" if prefix.startswith("accounts") else "<name>"
        yield from _keys(extra, f"{prefix}{label}.")


def schema_keys(name: str) -> str:
    """A table of every key a schema file declares: type and range, default, meaning."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    rows = ["| key | type, range | required | default | meaning |", "|---|---|---|---|---|"]
    for key, node, required in _keys(schema):
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ""
        cells = [f"`{key}`", _cell(_type(node)), "yes" if required else "", default]
        rows.append(f"| {' | '.join(cells)} | {_cell(node.get('description', ''))} |")
    return "\n".join(rows)


def settings_table(_: str | None = None) -> str:
    """Every section and field of the settings table: kind, default, what widens access."""
    from portal_config.settings.fields import UNMANAGED, Kind, Widening
    from portal_config.settings.table import TABLE

    widening = {
        Widening.ON: "switching it on",
        Widening.OFF: "switching it off",
        Widening.ADD: "adding a name",
    }
    rows = ["| field | kind | when left out | widens access | meaning |", "|---|---|---|---|---|"]
    for section, one in TABLE.fields():
        kind = one.kind.value
        if one.kind is Kind.CHOICE:
            kind += ": " + ", ".join(f"`{choice}`" for choice in one.choices)
        if one.required:
            omitted = "required"
        elif one.default is UNMANAGED:
            omitted = "not managed"
        else:
            default = list(one.default) if isinstance(one.default, tuple) else one.default
            omitted = f"`{json.dumps(default)}`"
        widens = widening[one.widens] if one.widens else ""
        cells = [f"`{section.name}.{one.name}`", _cell(kind), omitted, widens]
        rows.append(f"| {' | '.join(cells)} | {_cell(one.description)} |")
    return "\n".join(rows)


def rules(_: str | None = None) -> str:
    """The rules table and each rule's documentation, from the rule modules themselves."""
    from portal_config.lint.rules import RULES, summary

    lines = ["| rule | default | what it reports |", "|---|---|---|"]
    lines += [
        f"| `{rule_id}` | {rule.LEVEL.value} | {_cell(summary(rule))} |"
        for rule_id, rule in RULES.items()
    ]
    for rule_id, rule in RULES.items():
        doc = escape((rule.__doc__ or "").strip())
        lines += ["", f"## `{rule_id}`", "", f"Default level: **{rule.LEVEL.value}**.", "", doc]
    return "\n".join(lines)


def schema(name: str) -> str:
    """A schema file, whole, in a collapsible block."""
    text = (SCHEMAS / name).read_text(encoding="utf-8").rstrip()
    body = "\n".join("    " + line if line else "" for line in text.splitlines())
    return f'??? note "The schema: `schema/{name}`"\n\n    ```json\n{body}\n    ```'


def fault_matrix(_: str | None = None) -> str:
    """The fault matrix figures of the last recorded run (pytest --record-fault-matrix)."""
    record = json.loads((RESULTS / "fault-matrix.json").read_text(encoding="utf-8"))
    rows = [
        "| faults | runs | converged | failed cleanly | silent failures |",
        "|---|---|---|---|---|",
    ]
    for row in record["scenarios"]:
        rows.append(
            f"| {_cell(row['scenario'])} | {row['runs']} | {row['converged']} | "
            f"{row['failed cleanly']} | {row['silent']} |"
        )
    total = record["total"]
    rows.append(
        f"| **total** | **{total['runs']}** | **{total['converged']}** | "
        f"**{total['failed cleanly']}** | **{total['silent']}** |"
    )
    rows += ["", f"Recorded by `{record['command']}`."]
    return "\n".join(rows)


def benchmark(name: str) -> str:
    """The output of a benchmark script's last recorded run (`--record`), as it printed it."""
    text = (BENCHMARK_RESULTS / f"{name}.txt").read_text(encoding="utf-8").rstrip()
    return f"```text\n{text}\n```"


def commands(_: str | None = None) -> str:
    """The command reference: each command once, its `--help` exactly as click prints it,
    and each alias named under the command it stands for."""
    from portal_config.cli import cli

    if not isinstance(cli, click.Group):
        raise TypeError("portal_config.cli.cli is not a click group")
    root = _context(cli, "portal-config")
    aliases: dict[str, str] = getattr(cli, "aliases", {})
    listing, sections = ["", "Commands:", ""], []
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is None:
            raise ValueError(f"portal-config {name}: listed, but no such command")
        short = escape(command.get_short_help_str(limit=HELP_WIDTH))
        listing.append(f"- [`{name}`](#portal-config-{name}): {short}")
        shown = [alias for alias, target in aliases.items() if target == name]
        sections.append(_help(command, _context(command, name, root), shown))
    return "\n".join([_help(cli, root, []), *listing, *sections])


def _context(
    command: click.Command, name: str, parent: click.Context | None = None
) -> click.Context:
    """A context as `portal-config ... --help` makes one (the group's help option names,
    from its context settings), laid out at HELP_WIDTH."""
    settings: dict[str, Any] = {"terminal_width": HELP_WIDTH, "max_content_width": HELP_WIDTH}
    settings.update(command.context_settings)
    return click.Context(command, info_name=name, parent=parent, **settings)


def _help(command: click.Command, context: click.Context, aliases: list[str]) -> str:
    """One command's section: a heading, its aliases, and its `--help` text."""
    title = context.command_path
    lines = ["", f"## {title}", ""]
    if aliases:
        named = ", ".join(f"`portal-config {alias}`" for alias in aliases)
        lines += [f"Alias: {named} is another name for `{title}`.", ""]
    lines += ["```text", command.get_help(context).rstrip(), "```"]
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[str], str]] = {
    "commands": commands,
    "schema-keys": schema_keys,
    "rules": rules,
    "settings-table": settings_table,
    "schema": schema,
    "fault-matrix": fault_matrix,
    "benchmark": benchmark,
}


def render(markdown: str) -> str:
    """Replace every marker line in ``markdown`` by what its generator makes."""

    def replace(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated part {name!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name](argument or "")

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return render(markdown)
