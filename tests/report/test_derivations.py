"""theory/ stays in step with the code that generates its formulas."""

from pathlib import Path

import pytest

from pacbound.report.derivations import BLOCKS, refresh_generated, render_latex, render_markdown

# The closed forms take sympy a minute: the tests that solve them share one worker.
pytestmark = pytest.mark.xdist_group("closed-forms")

THEORY = Path(__file__).resolve().parents[2] / "theory"


PAGES = ("bounds.md", "optimal_difficulty.md")
#: sympy solves B_d = 0 for every family here, about 45 s on 2 cores.
SLOW_BLOCKS = {"closed-forms"}


def test_committed_theory_pages_match_the_code():
    seen = set()
    for page in PAGES:
        text = (THEORY / page).read_text()
        fresh = refresh_generated(text, only=set(BLOCKS) - SLOW_BLOCKS)
        assert fresh == text, f"run: pacbound derive --write theory/{page}"
        seen |= {name for name in BLOCKS if f"<!-- generated:{name} -->" in text}
    assert seen == set(BLOCKS)  # every block is used, so none can silently go missing


@pytest.mark.slow
def test_the_closed_forms_of_the_theory_pages_match_the_code():
    for page in PAGES:
        text = (THEORY / page).read_text()
        assert refresh_generated(text, only=SLOW_BLOCKS) == text, f"theory/{page}"


def test_a_block_left_out_is_left_as_it_is():
    stale = "<!-- generated:budgets -->\nB = old\n<!-- end generated:budgets -->"
    assert refresh_generated(stale, only=set()) == stale


def test_refresh_rewrites_a_drifted_block():
    stale = "intro\n<!-- generated:budgets -->\nB = old\n<!-- end generated:budgets -->\nend"
    fresh = refresh_generated(stale)
    assert "B = old" not in fresh
    assert r"B_{\mathrm{Maurer}}" in fresh
    assert fresh.startswith("intro\n") and fresh.endswith("\nend")


def test_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="generated block 'nope' is unknown"):
        refresh_generated("<!-- generated:nope -->\n<!-- end generated:nope -->")


@pytest.mark.slow  # every block, the closed forms included
def test_markdown_and_latex_renderings():
    markdown = render_markdown()
    assert all(f"### {name}" in markdown for name in BLOCKS)
    latex = render_latex()
    assert "$$" not in latex and "###" not in latex
    assert r"\mathrm{kl}^{-1}_{+}" in latex
