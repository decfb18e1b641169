"""Every committed report under paper_figs/ regenerates byte for byte from committed inputs.

Inputs: the comparison reports (``<name>_report.json``), the certificate summaries
(``<name>_certificates.json``), the claims (``claims.json``), the base-strength regressions
(``<family>_bases.json``), the objectives comparisons and token weights
(``<family>_objectives.json``, ``<name>_weights.json``) and the exact preset. From the report
JSONs, ``pacbound figs
--reports-only`` writes every Markdown report, the predictions reports, the base and learner
comparisons and the index (the default suite); ``pacbound reproduce --preset exact``
computes the exact model's reports anew (about a minute: marked slow). Each is written into
a temporary folder and compared with the committed file.
"""

import json
import shutil
from pathlib import Path

import pytest

from pacbound.cli import main
from pacbound.report.markdown import portable

FIGS = Path(__file__).parents[2] / "paper_figs"
INPUTS = sorted(FIGS.glob("*_report.json")) + sorted(FIGS.glob("*_certificates.json"))
INPUTS += sorted(FIGS.glob("claims.json"))
# A family's base-strength regression needs its stores; its committed JSON is its input.
INPUTS += sorted(FIGS.glob("*_bases.json"))
# So do an objectives family's comparison and the token weights (a cell retrained).
INPUTS += sorted(FIGS.glob("*_objectives.json")) + sorted(FIGS.glob("*_weights.json"))
INPUTS += sorted(FIGS.glob("*_difficulty.json"))
EXACT = ("exact_model.json", "exact_model.md", "exact_predictions.json", "exact_predictions.md")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The reports rendered again from the report JSONs, by ``figs --reports-only`` (the same
    report writers as ``figs``, without redrawing the figures)."""
    out = tmp_path_factory.mktemp("golden")
    for path in INPUTS:
        shutil.copy(path, out / path.name)
    # The index has a section for the exact model (from its JSON) and mentions this figure
    # when it exists; neither is compared here.
    shutil.copy(FIGS / "exact_model.json", out / "exact_model.json")
    shutil.copy(FIGS / "exact_predictions.json", out / "exact_predictions.json")
    (out / "learners_certificate_vs_risk.png").touch()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("no-store"))  # figs reads the reports in out
        assert main(["figs", "--reports-only", "--out", str(out)]) == 0
    for path in INPUTS:  # an input is written again too: it must not have changed
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    return out


@pytest.fixture(scope="module")
def exact_reports(tmp_path_factory) -> Path:
    """The exact preset computed and reported anew by ``reproduce --preset exact``."""
    out = tmp_path_factory.mktemp("golden-exact")
    assert main(["reproduce", "--preset", "exact", "--out", str(out)]) == 0
    return out


def committed_reports() -> list[str]:
    names = (p.name for p in FIGS.iterdir() if p.suffix in (".md", ".json"))
    return sorted(name for name in names if name not in EXACT)


def assert_regenerated(fresh: Path, name: str) -> None:
    """Byte for byte, the exact preset's JSON too: its numbers, which XLA's CPU code computes
    with last-bit differences between CPUs (up to 1.75e-12 relative, measured), are written
    with ``SIGNIFICANT_DIGITS`` significant digits (``pacbound.report.markdown.portable``)."""
    assert fresh.is_file(), f"{name} was not regenerated"
    assert fresh.read_bytes() == (FIGS / name).read_bytes(), f"{name} differs"


@pytest.mark.parametrize("name", committed_reports())
def test_committed_report_regenerates_byte_for_byte(rendered, name):
    assert_regenerated(rendered / name, name)


@pytest.mark.slow  # the exact preset computed anew: about a minute on 2 cores
@pytest.mark.xdist_group("golden-exact")  # computed once, on one worker
@pytest.mark.parametrize("name", EXACT)
def test_the_exact_reports_regenerate(exact_reports, name):
    assert_regenerated(exact_reports / name, name)


@pytest.mark.slow
@pytest.mark.xdist_group("golden-exact")
def test_the_exact_model_s_claims_regenerate(exact_reports):
    """The exact preset's entry of claims.json, computed anew (claims.json itself is an
    input of the rendering above: it holds every experiment's claims)."""

    def exact_entry(path):
        experiments = json.loads(path.read_text())["experiments"]
        return next(e for e in experiments if e["experiment"] == "exact")

    fresh, committed = (
        exact_entry(path) for path in (exact_reports / "claims.json", FIGS / "claims.json")
    )
    assert json.dumps(fresh, indent=1) == json.dumps(committed, indent=1)


def test_the_regenerated_reports_are_exactly_the_committed_ones(rendered):
    """Both ways, against what ``figs --reports-only`` wrote (not against the glob that
    parametrizes the byte checks): a committed report it no longer writes fails, and so does
    a report it writes that is not committed. The exact preset's reports are computed by
    ``reproduce`` (the slow tests) and are committed; the rendering only reads two of them."""
    written = {p.name for p in rendered.iterdir() if p.suffix in (".md", ".json")}
    committed = {p.name for p in FIGS.iterdir() if p.suffix in (".md", ".json")}
    assert set(EXACT) <= committed
    assert sorted(written - set(EXACT)) == sorted(committed - set(EXACT))
    inputs = {path.name for path in INPUTS}
    assert {"README.md", "claims.md"} <= written - inputs  # written, not copied in


def test_inputs_are_the_reports_as_written():
    """Every committed report's JSON, the inputs included, is in the writer's format (indent 1,
    trailing newline, ``portable`` floats)."""
    for path in sorted(FIGS.glob("*.json")):
        text = path.read_text()
        assert text == json.dumps(portable(json.loads(text)), indent=1) + "\n", path.name
