"""The one-account and fleet CI recipes are made from one template per recipe."""

from __future__ import annotations

import pytest

from conftest import REPO
from portal_config.render.recipes import RECIPES, TEMPLATES, TemplateError, generate, variant

WORKFLOWS = REPO / ".github" / "workflows"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_committed_recipe_is_what_its_template_makes(name: str) -> None:
    assert generate()[name] == (WORKFLOWS / name).read_text(encoding="utf-8")


def test_every_pair_of_recipes_has_one_template() -> None:
    made = {name for name in RECIPES}
    committed = {p.name for p in WORKFLOWS.glob("portal-config-*.yml")}
    assert committed - made == {"portal-config-lint.yml"}  # lint has one recipe for both
    assert sorted(p.name for p in TEMPLATES.glob("*.yml.in")) == sorted(
        {template for template, _ in RECIPES.values()}
    )


def test_the_two_variants_share_the_template_s_unmarked_lines() -> None:
    template = "a\n#{one}\nb\n#{fleet}\nc\nd\n#{end}\ne\n"
    assert variant(template, "one") == "a\nb\ne\n"
    assert variant(template, "fleet") == "a\nc\nd\ne\n"


@pytest.mark.parametrize(
    ("template", "message"),
    [("a\n#{one}\nb\n", "not closed"), ("a\n#{end}\n", "no block open")],
)
def test_an_unbalanced_template_is_refused(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        variant(template, "one")
