"""theory/ stays in step with the code that generates its formulas."""

from pathlib import Path

import pytest

from pacbound.symbolic.render import BLOCKS, refresh_generated, render_latex, render_markdown

THEORY = Path(__file__).resolve().parents[1] / "theory"


def test_committed_bounds_page_matches_the_code():
    text = (THEORY / "bounds.md").read_text()
    assert refresh_generated(text) == text, "run: pacbound derive --write theory/bounds.md"
    for name in BLOCKS:  # every block is present, so none can silently go missing
        assert f"<!-- generated:{name} -->" in text


def test_refresh_rewrites_a_drifted_block():
    stale = "intro\n<!-- generated:budgets -->\nB = old\n<!-- end generated:budgets -->\nend"
    fresh = refresh_generated(stale)
    assert "B = old" not in fresh
    assert r"B_{\mathrm{Maurer}}" in fresh
    assert fresh.startswith("intro\n") and fresh.endswith("\nend")


def test_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="generated block 'nope' is unknown"):
        refresh_generated("<!-- generated:nope -->\n<!-- end generated:nope -->")


def test_markdown_and_latex_renderings():
    markdown = render_markdown()
    assert all(f"### {name}" in markdown for name in BLOCKS)
    latex = render_latex()
    assert "$$" not in latex and "###" not in latex
    assert r"\mathrm{kl}^{-1}_{+}" in latex
