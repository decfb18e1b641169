"""Every committed report under paper_figs/ regenerates byte for byte from committed inputs.

Inputs: the comparison reports (``<name>_report.json``), the certificate summaries
(``<name>_certificates.json``) and the exact preset. Everything else (the Markdown of each,
the predictions reports, the base and learner comparisons, the exact model's reports and the
index) is regenerated into a temporary folder and compared with the committed file.
"""

import json
import shutil
from pathlib import Path

import pytest

from pacbound.cli import main

FIGS = Path(__file__).parent.parent / "paper_figs"
REPORTS = sorted(FIGS.glob("*_report.json"))
CERTIFICATES = sorted(FIGS.glob("*_certificates.json"))
INPUTS = [*REPORTS, *CERTIFICATES]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """paper_figs/'s reports regenerated from its inputs into a fresh folder, by the commands
    a user runs: ``reproduce --preset exact``, then ``figs`` on the report JSONs."""
    out = tmp_path_factory.mktemp("golden")
    for path in INPUTS:
        shutil.copy(path, out / path.name)
    # The index mentions this figure when it exists; figures are not compared here.
    (out / "learners_certificate_vs_risk.png").touch()
    empty = tmp_path_factory.mktemp("no-store")
    assert main(["reproduce", "--preset", "exact", "--out", str(out)]) == 0
    assert main(["figs", "--db", str(empty / "none.sqlite"), "--out", str(out)]) != 0
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(empty)  # no store at the default path: figs reads the reports in out
        assert main(["figs", "--out", str(out)]) == 0
    for path in INPUTS:  # an input is written again too: it must not have changed
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    return out


def committed_reports() -> list[str]:
    return sorted(p.name for p in FIGS.iterdir() if p.suffix in (".md", ".json"))


#: Reports whose numbers JAX computes on the spot (the exact preset): XLA's CPU code can
#: differ in the last digits between CPUs, so where their bytes differ their structure must
#: not, and every float must agree to this relative tolerance. Their Markdown, which rounds,
#: is compared byte for byte like everything else.
COMPUTED = {"exact_model.json", "exact_predictions.json"}
FLOAT_RTOL = 1e-11


def same_up_to_last_digits(fresh, committed, where="") -> None:
    if isinstance(committed, float) and isinstance(fresh, float):
        assert fresh == pytest.approx(committed, rel=FLOAT_RTOL, abs=1e-300), where
    elif isinstance(committed, dict):
        assert list(fresh) == list(committed), where
        for key in committed:
            same_up_to_last_digits(fresh[key], committed[key], f"{where}/{key}")
    elif isinstance(committed, list):
        assert len(fresh) == len(committed), where
        for i, (a, b) in enumerate(zip(fresh, committed, strict=True)):
            same_up_to_last_digits(a, b, f"{where}[{i}]")
    else:
        assert fresh == committed, where


@pytest.mark.parametrize("name", committed_reports())
def test_committed_report_regenerates_byte_for_byte(regenerated, name):
    fresh = regenerated / name
    assert fresh.is_file(), f"{name} was not regenerated"
    if name in COMPUTED and fresh.read_bytes() != (FIGS / name).read_bytes():
        loaded = json.loads(fresh.read_text())
        same_up_to_last_digits(loaded, json.loads((FIGS / name).read_text()), name)
        return
    assert fresh.read_bytes() == (FIGS / name).read_bytes(), f"{name} differs"


def test_inputs_are_the_reports_as_written():
    """The inputs are themselves in the writer's format (indent 1, trailing newline)."""
    for path in INPUTS:
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=1) + "\n"
