"""The CI recipes for one account and for a fleet, each pair from one template.

A one-account repository's recipe runs one job on its one account; a fleet's adds the
job that makes the matrix of accounts, and its steps name each account's environment and
plan file. Everything else (the pinned actions, the install, the base branch's config,
the comment, the exit codes) is the same, so each pair is written once, in
``templates/recipes/<recipe>.yml.in``: a line ``#{one}`` or ``#{fleet}`` starts lines
only that variant has, ``#{end}`` ends them. The recipes init writes are the files this
makes (committed in ``.github/workflows/``, which ``templates/workflows/*.yml`` link to);
a test fails when a committed recipe differs from its template's. After editing a
template: ``python -m portal_config.render.recipes``.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent.parent / "templates" / "recipes"
VARIANTS = ("one", "fleet")
# Each recipe init writes from a template: (template, variant).
RECIPES = {
    f"portal-config-{prefix}{kind}.yml": (f"portal-config-{kind}.yml.in", variant)
    for kind in ("diff", "apply", "drift", "report")
    for prefix, variant in (("", "one"), ("fleet-", "fleet"))
}


class TemplateError(ValueError):
    pass


def variant(template: str, chosen: str) -> str:
    """The template's text for one variant: its shared lines and its own blocks."""
    if chosen not in VARIANTS:
        raise TemplateError(f"unknown variant {chosen!r}")
    kept: list[str] = []
    block: str | None = None
    for number, line in enumerate(template.splitlines(keepends=True), 1):
        marker = line.rstrip("\n")
        if marker in ("#{one}", "#{fleet}"):
            block = marker[2:-1]
        elif marker == "#{end}":
            if block is None:
                raise TemplateError(f"line {number}: #{{end}} with no block open")
            block = None
        elif block is None or block == chosen:
            kept.append(line)
    if block is not None:
        raise TemplateError(f"a #{{{block}}} block is not closed by #{{end}}")
    return "".join(kept)


def generate(templates: Path = TEMPLATES) -> dict[str, str]:
    """Every recipe made from a template, by file name."""
    return {
        name: variant((templates / template).read_text(encoding="utf-8"), chosen)
        for name, (template, chosen) in RECIPES.items()
    }


def main() -> None:  # pragma: no cover - a contributor's command, checked by the tests
    target = TEMPLATES.parents[3] / ".github" / "workflows"
    for name, text in generate().items():
        (target / name).write_text(text, encoding="utf-8")
        print(f".github/workflows/{name}")


if __name__ == "__main__":  # pragma: no cover
    main()
