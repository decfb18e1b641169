"""Every identity hash keeps its value: stores, cached bases and the committed reports are keyed
by them, so the one helper (``provenance.short_hash``) and the text each caller hashes must
not change. The values were computed before the three callers shared the helper."""

import json
from pathlib import Path

import pytest

from pacbound import config, provenance
from pacbound.train import config_hash

FIGS = Path(__file__).parents[1] / "paper_figs"

#: Each preset's experiments and their config hashes (``ExperimentConfig.hash``).
PRESET_HASHES = {
    "base-loss": {
        "base-loss-b24-op-count": "7a3965bb3ee433c8",
        "base-loss-b25-op-count": "2abfde98b7334d4d",
        "base-loss-b26-op-count": "576a0b0838ada3d1",
        "base-loss-b24-base-loss": "aeddb16fe89cc746",
        "base-loss-b25-base-loss": "1b4f5e7e4ecda9ae",
        "base-loss-b26-base-loss": "3f9872d66e114588",
    },
    "dft": {"dft-sft": "a4d96cb8947bd0f4", "dft-dft": "2276a2baaea490fb"},
    "extended": {
        "extended-b24": "912ad2d07c05c2d2",
        "extended-b25": "355329ce1be00235",
        "extended-b26": "8141a433f6d501b3",
    },
    "paper": {"paper": "e2728ce9f8644508"},
    "quick": {"quick": "6f575c74c3e097d9"},
    "quick-fixed": {"quick-fixed": "716861f5e011f2ba"},
    "solvable": {"solvable": "dd8893dc8f1e8a65"},
    "subspace": {
        "subspace-full": "6bf149aab092b7ad",
        "subspace-k16": "e5f85d30384b7dd4",
        "subspace-k128": "9a7d1d175aa0378b",
        "subspace-k1024": "1dd1110fd49d5fe8",
    },
}


@pytest.mark.parametrize("preset", sorted(PRESET_HASHES))
def test_every_preset_keeps_its_config_hash(preset):
    found = {e.name: e.hash() for e in config.preset_all(preset)}
    assert found == PRESET_HASHES[preset]


def test_the_committed_reports_carry_the_presets_hashes():
    known = {name: h for hashes in PRESET_HASHES.values() for name, h in hashes.items()}
    reports = [json.loads(p.read_text()) for p in sorted(FIGS.glob("*_report.json"))]
    assert reports
    for report in reports:
        assert known[report["experiment"]] == report["config_hash"], report["experiment"]


def test_a_cached_base_keeps_its_key():
    """The parts of a cached base's key (``train.pretrain``): the configs, the excluded
    problems' hash and the code's."""
    quick = config.preset("quick")
    pretraining = quick.pretrain_for(quick.base_seeds[0])
    assert config_hash(quick.task, quick.model, pretraining, "0123", "abcd") == "1fb3db6b5614e2ea"
    assert config_hash({"a": 1, "b": (1, 2)}, 3.5, None, "x") == "0b7d99978ab49310"
    assert provenance.short_hash("".join(sorted({"b", "a"}))) == "fb8e20fc2e4c3f24"


def test_the_source_hash_keeps_its_value(tmp_path, monkeypatch):
    for name, text in (("a.py", "x = 1\n"), ("sub/b.py", "y = 2\n"), ("sub/c.py", "")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    provenance.source_hash.cache_clear()
    try:
        assert provenance.source_hash(("a.py", "sub")) == "21c8db26746737f2"
        assert provenance.source_hash(("sub",)) == "8358a4ab43e43c54"
    finally:
        provenance.source_hash.cache_clear()


def test_the_helper_is_sha256_cut_to_16_hex_digits():
    assert provenance.short_hash("") == "e3b0c44298fc1c14"  # SHA-256 of nothing
    assert provenance.short_hash(b"abc") == provenance.short_hash("abc") == "ba7816bf8f01cfea"
    assert provenance.json_hash({"b": 1, "a": [2]}) == provenance.short_hash('{"a": [2], "b": 1}')
