"""Presets load into frozen dataclasses; hashes ignore what does not change results."""

import dataclasses
import re
import tomllib
from pathlib import Path

import jax
import numpy as np
import pytest

from pacbound import config
from pacbound.cli import main
from pacbound.config import CertifyConfig
from pacbound.model import apply, init_params


@pytest.mark.parametrize("name", ["quick", "quick-fixed", "solvable", "paper"])
def test_every_preset_loads_and_is_frozen(name):
    experiment = config.preset(name)
    assert experiment.name == name
    # buckets × budgets × runs (seeds within a draw, times the draws)
    assert len(experiment.cells) * len(experiment.base_seeds) >= 3 * 4 * 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        experiment.name = "other"
    assert config.from_dict(experiment.raw).hash() == experiment.hash()


def test_the_paper_preset_is_the_faithful_task_and_its_model_runs():
    experiment = config.preset("paper")
    assert experiment.task_kind == "igsm" and experiment.task.modulus == 23
    assert experiment.task.max_level == 20
    model = experiment.model
    example = experiment.task.sample(0, 20)
    params = jax.jit(init_params, static_argnums=1)(jax.random.PRNGKey(0), model)
    logits = jax.jit(apply, static_argnums=2)(params, example.tokens[None], model)
    assert logits.shape == (1, model.length, model.vocab_size)
    assert np.all(np.isfinite(np.asarray(logits)))


def test_hash_ignores_name_compare_and_distributed_but_not_the_grid():
    raw = config.preset("quick").raw
    base = config.from_dict(raw).hash()
    renamed = dict(raw, name="other", compare={"pretrain_share": 0.25})
    assert config.from_dict(renamed).hash() == base
    fewer = dict(raw, grid=dict(raw["grid"], seeds=[0, 1, 2]))
    assert config.from_dict(fewer).hash() != base
    reordered = dict(
        raw, grid=dict(raw["grid"], buckets=dict(reversed(raw["grid"]["buckets"].items())))
    )
    assert config.from_dict(reordered).hash() == base


def test_a_multi_base_preset_expands_into_one_experiment_per_base():
    experiments = config.preset_all("extended")
    assert [e.name for e in experiments] == ["extended-b24", "extended-b25", "extended-b26"]
    assert [e.pretrain.levels for e in experiments] == [(2, 4), (2, 5), (2, 6)]
    assert {e.family for e in experiments} == {"extended"}
    assert len({e.hash() for e in experiments}) == 3
    for experiment in experiments:
        # The stored config rebuilds the same experiment, family included.
        assert config.from_dict(experiment.raw) == experiment
        assert len(experiment.grid.budgets) >= 10 and len(experiment.base_seeds) >= 3
        assert len(experiment.base_seeds) * len(experiment.grid.seeds) >= 12
        assert max(experiment.grid.budgets) / min(experiment.grid.budgets) >= 100
    with pytest.raises(ValueError, match="holds 3 experiments"):
        config.preset("extended")
    raw = experiments[0].raw | {"name": "x", "family": ""}
    both = dict(raw, pretrain=dict(raw["pretrain"], bases={"a": [2, 4]}))
    with pytest.raises(ValueError, match="levels or bases, not both"):
        config.expand(both)


def test_the_quick_preset_is_budget_aware_and_fits_the_issue():
    quick = config.preset("quick")
    assert quick.finetune.schedule == "epochs"
    # At least 3 base draws, and at least 6 runs (draw, seed) per cell and 6 budgets.
    # Draws are the unit of the intervals (t on D − 1): at least five (experiments/quick.toml).
    assert len(quick.base_seeds) >= 5
    assert len(quick.base_seeds) * len(quick.grid.seeds) >= 5 and len(quick.grid.budgets) >= 6
    assert quick.task.prefix > 0
    steps = quick.finetune.steps_for(np.array(quick.grid.budgets))
    assert np.all(np.diff(steps) >= 0) and steps.max() <= quick.finetune.steps


def test_options_left_at_their_defaults_do_not_change_an_experiment_s_hash():
    raw = config.preset_all("extended")[0].raw  # a published experiment without them
    base = config.from_dict(raw).hash()
    explicit = dict(raw, finetune=dict(raw["finetune"], subspace=0, projection_seed=0))
    explicit["pretrain"] = dict(raw["pretrain"], disjoint=False)
    assert config.from_dict(explicit).hash() == base
    subspace = dict(raw, finetune=dict(raw["finetune"], subspace=16))
    assert config.from_dict(subspace).hash() != base
    certified = dict(raw, certify={"draws": 64})
    assert config.from_dict(certified).hash() != base


def test_a_subspace_list_expands_into_one_experiment_per_learner():
    experiments = config.preset_all("subspace")
    assert [e.name for e in experiments] == [
        "subspace-full",
        "subspace-k16",
        "subspace-k128",
        "subspace-k1024",
    ]
    assert {e.family for e in experiments} == {"subspace"}
    assert [e.finetune.subspace for e in experiments] == [0, 16, 128, 1024]
    assert all(e.certify.enabled and e.pretrain.disjoint for e in experiments)
    raw = config.preset("quick").raw
    for bad, message in [
        ([], r"subspace = \[\]: expected .* a non-empty list of distinct integers"),
        ([16, 16], "a non-empty list of distinct integers"),
        # The list as written, not one variant's value.
        ([0, -1], r"^\[finetune\] subspace = \[0, -1\] is out of range: allowed integers ≥ 0$"),
    ]:
        with pytest.raises(ValueError, match=message):
            config.expand(dict(raw, finetune=dict(raw["finetune"], subspace=bad)))


@pytest.mark.parametrize(
    "table, message",
    [
        ({"sigmas": []}, "sigmas"),
        ({"families": ["laplace"]}, "families"),
        ({"delta": 1.5}, "delta = 1.5"),
        ({"draws": 0}, "draws = 0"),
        ({"kappa": 1}, "unknown keys"),
    ],
)
def test_a_bad_certify_table_names_the_argument(table, message):
    raw = config.preset("quick").raw
    with pytest.raises(ValueError, match=message):
        config.from_dict(dict(raw, certify=table))


def test_certify_config_counts_its_choices_and_rejects_bad_values():
    c = CertifyConfig(sigmas=(0.1, 1.0, 3.0))
    assert c.choices(0) == 6  # 3 σ × 2 families
    assert c.choices(32) == 3  # on w only the isotropic family
    assert CertifyConfig(simultaneous=True).cell_delta(50) == pytest.approx(0.05 / 50)
    with pytest.raises(ValueError, match="families"):
        CertifyConfig(families=("laplace",))
    with pytest.raises(ValueError, match="sigmas"):
        CertifyConfig(sigmas=(0.0,))


def test_base_seeds_give_one_draw_per_seed_and_a_single_seed_keeps_the_hash():
    raw = tomllib.loads(config.preset_path("quick").read_text())
    raw["pretrain"].pop("seeds")
    single = config.from_dict(raw)
    assert single.base_seeds == (0,) and single.cell_count == len(single.cells)
    assert config.from_dict({**raw, "pretrain": {**raw["pretrain"], "seeds": [0]}}).hash() == (
        single.hash()
    )
    draws = config.from_dict({**raw, "pretrain": {**raw["pretrain"], "seeds": [0, 3, 5]}})
    assert draws.base_seeds == (0, 3, 5) and draws.cell_count == 3 * len(single.cells)
    assert draws.hash() != single.hash()
    assert draws.pretrain_for(3).seed == 3 and draws.pretrain_for(3).levels == (2, 5)
    with pytest.raises(ValueError, match="base = 4 is not one of"):
        draws.pretrain_for(4)


@pytest.mark.parametrize(
    "pretrain, message",
    [
        ({"seeds": [0, 1], "seed": 2}, "seed .* or seeds .*, not both"),
        ({"seeds": []}, "seeds = \\[\\]: expected a non-empty list of distinct integers"),
        ({"seeds": [1, 1]}, "expected a non-empty list of distinct integers ≥ 0"),
        ({"seeds": [-1]}, r"seeds = \[-1\] is out of range: allowed integers ≥ 0"),
        ({"seeds": 3}, "seeds = 3: expected a non-empty list of distinct integers ≥ 0"),
    ],
)
def test_bad_base_seeds_name_the_argument(pretrain, message):
    raw = tomllib.loads(config.preset_path("quick").read_text())
    raw["pretrain"].pop("seeds")
    with pytest.raises(ValueError, match=message):
        config.from_dict({**raw, "pretrain": {**raw["pretrain"], **pretrain}})


def test_the_dft_preset_is_one_experiment_per_objective_on_quick_s_grid():
    experiments = config.preset_all("dft")
    assert [e.name for e in experiments] == ["dft-sft", "dft-dft"]
    assert [e.finetune.objective for e in experiments] == ["sft", "dft"]
    assert {e.family for e in experiments} == {"dft"}
    quick = config.preset("quick")
    for e in experiments:  # quick's task, buckets and budgets; its former 3 draws × 2 seeds
        assert (e.task, e.grid.buckets, e.grid.budgets) == (
            quick.task,
            quick.grid.buckets,
            quick.grid.budgets,
        )
        assert e.base_seeds == (0, 1, 2) == quick.base_seeds[:3] and e.grid.seeds == (0, 1)
        assert not e.certify.enabled
    # SFT is the default: an experiment that does not name it keeps its hash.
    assert "objective" not in quick.to_dict()["finetune"]
    raw = config.preset("quick").raw
    varied = dict(raw, finetune=dict(raw["finetune"], subspace=[0, 8], objective=["sft", "dft"]))
    with pytest.raises(ValueError, match="varies one of the base, the subspace or the objective"):
        config.expand(varied)
    with pytest.raises(ValueError, match=r'objective = \["dft", "dft"\]: expected a string, or'):
        config.expand(dict(raw, finetune=dict(raw["finetune"], objective=["dft", "dft"])))


def test_dft_on_the_solvable_task_is_refused():
    raw = config.preset("solvable").raw
    with pytest.raises(ValueError, match="^objective = 'dft' is for the language tasks$"):
        config.from_dict(dict(raw, finetune=dict(raw["finetune"], objective="dft")))


def test_the_base_loss_preset_pairs_both_definitions_on_every_base():
    experiments = config.preset_all("base-loss")
    names = [e.name for e in experiments]
    assert names == [
        f"base-loss-{b}-{d}" for d in ("op-count", "base-loss") for b in ("b24", "b25", "b26")
    ]
    assert {e.family for e in experiments} == {"base-loss"}
    by_name = {e.name: e for e in experiments}
    for base in ("b24", "b25", "b26"):
        ops, loss = (by_name[f"base-loss-{base}-{d}"] for d in ("op-count", "base-loss"))
        assert ops.pretrain == loss.pretrain and ops.base_seeds == loss.base_seeds == (0, 1)
        assert ops.grid == dataclasses.replace(loss.grid, difficulty="op-count")
        assert loss.grid.relative and not ops.grid.relative
    # The op-count default is left out of the hash: an op-count variant is the plain experiment.
    ops = by_name["base-loss-b24-op-count"]
    plain = dict(ops.raw, grid={k: v for k, v in ops.raw["grid"].items() if k != "difficulty"})
    assert config.from_dict(plain).hash() == ops.hash()
    assert "difficulty" not in config.preset("quick").to_dict()["grid"]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"difficulty": "loss"},
            r"^\[grid\] difficulty = 'loss' is not one of op-count, base-loss$",
        ),
        (
            {"difficulty": "base-loss", "buckets": {"easy": [3, 5], "hard": [7, 11]}},
            "tile a range of levels: easy ends at 5, hard starts at 7",
        ),
        (
            {"difficulty": "base-loss", "pool": 10},
            r"^\[grid\] pool = 10 gives a bucket 30 problems, fewer than the largest budget 256: "
            r"allowed \[86, inf\)$",
        ),
        (
            {"difficulty": "base-loss", "pool": 0},
            r"^\[grid\] pool = 0 is out of range: allowed \[1",
        ),
        ({"difficulty": ["base-loss", "base-loss"]}, "need distinct values of op-count, base-loss"),
    ],
)
def test_bad_difficulty_settings_name_the_argument(grid, message):
    raw = config.preset("quick").raw
    raw = {k: v for k, v in raw.items() if k != "certify"}
    with pytest.raises(ValueError, match=message):
        config.expand(dict(raw, grid=dict(raw["grid"], **grid)))


def test_base_loss_buckets_need_a_disjoint_base_and_take_no_certificates():
    raw = config.preset("quick").raw
    with pytest.raises(ValueError, match="needs \\[pretrain\\] disjoint = true, no \\[certify\\]$"):
        config.from_dict(dict(raw, grid=dict(raw["grid"], difficulty="base-loss")))
    solvable = config.preset("solvable").raw
    with pytest.raises(ValueError, match="needs \\[pretrain\\] disjoint = true"):
        config.from_dict(dict(solvable, grid=dict(solvable["grid"], difficulty="base-loss")))
    extended = config.preset_all("extended")[0].raw  # a base that saw every problem
    with pytest.raises(ValueError, match="needs \\[pretrain\\] disjoint = true"):
        config.from_dict(dict(extended, grid=dict(extended["grid"], difficulty="base-loss")))


TINY_TEXT = (Path(__file__).parent / "data" / "tiny.toml").read_text()
LIST_OF_SEEDS = "expected a non-empty list of distinct integers ≥ 0"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("seeds = [0, 1, 2]", "seeds = 3"), f"[grid] seeds = 3: {LIST_OF_SEEDS}"),
        (("chunk = 3", "chunk = 3\nseeds = 3"), f"[pretrain] seeds = 3: {LIST_OF_SEEDS}"),
        (("steps = 4\n", 'steps = "many"\n'), '[finetune] steps = "many": expected an integer ≥ 1'),
        (("steps = 4\n", "steps = 3000.7\n"), "[finetune] steps = 3000.7: expected an integer ≥ 1"),
        (("steps = 6", "steps = 6.0"), "[pretrain] steps = 6.0: expected an integer ≥ 1"),
        (
            ("learning_rate = 1e-3", "learning_rate = true"),
            "[finetune] learning_rate = true: expected a finite number",
        ),
        (
            ("learning_rate = 1e-3", "learning_rate = inf"),
            "[finetune] learning_rate = inf: expected a finite number",
        ),
        (
            ("weight_decay = 0.0", "weight_decay = nan"),
            "[finetune] weight_decay = nan: expected a finite number",
        ),
        (("width = 16", "width = 16.0"), "[model] width = 16.0: expected an integer ≥ 1"),
        (("layers = 1", "layers = 0"), "[model] layers = 0 is out of range: allowed [1, inf)"),
        (("chunk = 3", "chunk = true"), "[pretrain] chunk = true: expected an integer ≥ 1"),
        (("levels = [2, 3]", "levels = 3"), "[pretrain] levels = 3: expected a list of 2 integers"),
        (("modulus = 5", 'modulus = "5"'), '[task] modulus = "5": expected an integer'),
        (
            ("budgets = [2, 5]", "budgets = [2, 2]"),
            "[grid] budgets = [2, 2]: expected a non-empty list of distinct integers ≥ 1",
        ),
        (
            ("seeds = [0, 1, 2]", "seeds = [0, 4294967296]"),  # a 32-bit key would wrap it to 0
            "[grid] seeds = [0, 4294967296] is out of range: allowed integers below 2^31",
        ),
        (
            ("buckets = { easy = [2, 3], hard = [4, 4] }", "buckets = 3"),
            "[grid] buckets = 3: expected a table of name = [low, high], "
            "e.g. buckets = { easy = [2, 4], hard = [5, 7] }",
        ),
        (("test_size = 8", "test_size = [8]"), "[grid] test_size = [8]: expected an integer ≥ 1"),
        (('name = "tiny"', "name = 3"), "name = 3: expected a string"),
    ],
)
def test_a_bad_value_names_the_file_the_line_the_key_and_what_was_expected(edit, message, tmp_path):
    assert edit[0] in TINY_TEXT
    text = TINY_TEXT.replace(*edit, 1)
    edited = [part for part in edit[1].split("\n") if part][-1]
    line = text[: text.index(edited)].count("\n") + 1
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as raised:
        config.load_all(path)
    assert str(raised.value) == f"{path}, line {line}: {message}"


def test_an_unknown_key_of_the_pretraining_lists_every_allowed_one(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_TEXT.replace("chunk = 3", "chunk = 3\ncolour = 1"))
    with pytest.raises(ValueError, match=r"line 20: \[pretrain\] has unknown keys \['colour'\]"):
        config.load_all(path)
    with pytest.raises(ValueError) as raised:
        config.load_all(path)
    assert all(key in str(raised.value) for key in ("'levels'", "'seeds'", "'steps'", "'chunk'"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (TINY_TEXT.replace("[grid]", "[grid"), "not valid TOML: Expected ']' at the end of a"),
        (TINY_TEXT[: TINY_TEXT.index("target")] + "target = [2,", "not valid TOML: "),
        (b"\xff\xfe[grid]", "not UTF-8 text (byte 0)"),
    ],
    ids=["header", "truncated", "binary"],
)
def test_a_file_that_is_not_toml_is_named_with_the_decoder_s_line(text, fragment, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError) as raised:
        config.load_all(path)
    assert str(raised.value).startswith(f"config = {path}: {fragment}")
    if not isinstance(text, bytes):  # where the decoder stopped
        assert re.search(r"\(at (line \d+, column \d+|end of document)\)$", str(raised.value))


@pytest.fixture
def fresh_jax():
    """JAX without a persistent compilation cache, as a fresh process starts (the sweep then
    sets its own, beside the store); the session's cache is set again after the test."""
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    yield
    jax.config.update("jax_compilation_cache_dir", before)


@pytest.mark.parametrize(
    "edit",
    [
        ("seeds = [0, 1, 2]", "seeds = 3"),
        ("steps = 4\n", 'steps = "many"\n'),
        ("[grid]", "[grid"),
        ("hard = [4, 4]", "hard = [4, 9]"),
    ],
    ids=["type", "string", "toml", "range"],
)
def test_a_refused_config_writes_nothing(edit, tmp_path, capsys, fresh_jax):
    """Every experiment of the file is checked before the store, the cache or XLA's
    compilation cache is made."""
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY_TEXT.replace(*edit, 1))
    assert main(["sweep", "--config", str(bad), "--db", str(tmp_path / "x.sqlite")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("pacbound: error: ") and str(bad) in error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert list(tmp_path.iterdir()) == [bad]  # no store, no cache/xla folder
    assert jax.config.jax_compilation_cache_dir is None


def test_a_refused_store_gets_no_cache_beside_it(tmp_path, capsys, fresh_jax):
    db = tmp_path / "foreign.sqlite"
    db.write_bytes(b"not a database at all, just text" * 10)
    good = tmp_path / "tiny.toml"
    good.write_text(TINY_TEXT)
    assert main(["sweep", "--config", str(good), "--db", str(db), "--quiet"]) == 2
    assert "not a pacbound store" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.sqlite", "tiny.toml"]


def test_a_solvable_task_of_more_levels_than_a_store_can_hold_is_refused():
    raw = config.preset("solvable").raw  # listing its levels ran out of memory
    with pytest.raises(ValueError, match=r"^\[task\] levels = 2147483647 is out of range: "):
        config.from_dict(dict(raw, task=dict(raw["task"], levels=2**31 - 1)))


def test_a_negative_seed_of_the_solvable_task_is_refused_before_it_runs():
    raw = config.preset("solvable").raw  # numpy's generators take seeds ≥ 0 only
    with pytest.raises(
        ValueError, match=r"^\[task\] seed = -1 is out of range: allowed \[0, inf\)$"
    ):
        config.from_dict(dict(raw, task=dict(raw["task"], seed=-1)))


QUICK_TEXT = config.preset_path("quick").read_text()
NAME_RULE = "expected letters, digits, '-', '_' and '.' only, beginning with a letter or digit"


@pytest.mark.parametrize(
    ("edit", "marker", "message"),
    [
        # width % heads was computed before heads ≥ 1 was checked: a ZeroDivisionError.
        (
            ("heads = 4", "heads = 0"),
            "heads",
            "[model] heads = 0 is out of range: allowed [1, inf)",
        ),
        (
            ("width = 64", "width = 0"),
            "width",
            "[model] width = 0 is out of range: allowed [1, inf)",
        ),
        (
            ("[grid]", "[grid]\npool = 0"),
            "pool",
            "[grid] pool = 0 is out of range: allowed [1, inf)",
        ),
        (
            ("[grid]", "[grid]\npool = -1"),
            "pool",
            "[grid] pool = -1 is out of range: allowed [1, inf)",
        ),
        (
            ("test_size = 128", "test_size = 2147483647"),
            "test_size",
            "[grid] test_size = 2147483647 is out of range: allowed up to 339355440 (the held-out "
            "set: 10 levels × test_size × 81 tokens, below 2^38)",
        ),
        (
            ("prefix = 8", "prefix = 100000"),
            "[task]",  # the context follows from several keys
            "[task] the context L = 100073 is out of range: allowed up to 65535 (one batch's "
            "attention scores: 16 problems × 4 heads × L × L, below 2^38)",
        ),
        (('name = "quick"', 'name = ""'), "name", f"name = '': {NAME_RULE}"),
        (('name = "quick"', 'name = "../../etc/x"'), "name", f"name = '../../etc/x': {NAME_RULE}"),
        (('name = "quick"', 'name = "a\\nb"'), "name", f"name = 'a\\nb': {NAME_RULE}"),
        (
            ('name = "quick"', 'name = "quick"\nfamily = "../up"'),
            "family",
            f"family = '../up': {NAME_RULE}",
        ),
        (
            ("[compare]", "[distributed]\nnum_processes = 2\nprocess_id = 5\n\n[compare]"),
            "process_id",
            "[distributed] process_id = 5 is out of range: allowed [0, 1] (num_processes = 2)",
        ),
        (
            ("[compare]", "[distributed]\nenabled = true\n\n[compare]"),
            "enabled",
            "[distributed] enabled = true needs coordinator_address, the host:port of process 0",
        ),
        (
            ("sigmas = [0.003,", "sigmas = [0.1, 0.1, 0.003,"),
            "sigmas",
            "[certify] sigmas = [0.1, 0.1, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]: "
            "expected a non-empty list of distinct finite numbers",
        ),
        (
            ("levels = [2, 5]", "bases = { a = [2, 30] }"),
            "bases",
            "[pretrain] bases.a = [2, 30] is not a range of the task's levels "
            "(2, 3, 4, 5, 6, 7, 8, 9, 10, 11)",
        ),
        (
            ("levels = [2, 5]", 'bases = { "a/b" = [2, 4] }'),
            "bases",
            f"[pretrain] base name = 'a/b': {NAME_RULE}",
        ),
        (
            ("[finetune]", "[finetune]\nsubspace = [0, -1]"),
            "subspace",
            "[finetune] subspace = [0, -1] is out of range: allowed integers ≥ 0",
        ),
        (  # listing its levels ran out of memory
            ("max_level = 11", "max_level = 2147483647"),
            "max_level",
            "[task] max_level = 2147483647 is out of range: 2147483646 levels, allowed at most "
            "125000000 (a stored cell keeps its error at every level in one text, which SQLite "
            "caps at 10^9 bytes)",
        ),
        (
            ("max_level = 11", "max_level = 1000000"),
            "max_level",
            "[task] max_level = 1000000 is out of range: even one held-out problem per level is "
            "999999 levels × 6000015 tokens, not below 2^38",
        ),
        (  # the held-out set ran out of problems once the base was pretrained
            ("modulus = 7", "modulus = 2"),
            "test_size",
            "[grid] test_size = 128 is out of range: allowed up to 35 (level 2 has 72 distinct "
            "problems, and a disjoint base ([pretrain] disjoint) keeps about half of them: the "
            "other half must hold the held-out set and leave some for training)",
        ),
        (
            ("levels = [2, 5]", "levels = [2, 5]\nseed = -1"),
            "seed",
            "[pretrain] seed = -1 is out of range: allowed [0, inf)",
        ),
    ],
)
def test_a_refused_quick_config_is_one_line_naming_file_line_and_key(
    edit, marker, message, tmp_path, capsys, fresh_jax
):
    """Values that were accepted (or crashed) are refused before anything is written."""
    assert edit[0] in QUICK_TEXT
    text = QUICK_TEXT.replace(*edit, 1)
    if marker == "seed":  # one draw by its seed: not beside the list of seeds
        text = re.sub(r"(?m)^seeds = \[0, 1, 2, 3, 4\]\n", "", text, count=1)
    start = marker if marker.startswith("[") else f"{marker} ="
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith(start))
    path = tmp_path / "x.toml"
    path.write_text(text)
    assert main(["sweep", "--config", str(path), "--db", str(tmp_path / "y.sqlite")]) == 2
    assert capsys.readouterr().err == f"pacbound: error: {path}, line {line}: {message}\n"
    assert list(tmp_path.iterdir()) == [path]
    assert jax.config.jax_compilation_cache_dir is None


def test_every_committed_name_is_a_plain_file_stem():
    """Presets and their family members keep loading under the name rule, and the committed
    reports are read with the same rule."""
    from pacbound import inputs
    from pacbound.analysis import committed, exact

    names = []
    for path in sorted(config.PRESET_DIR.glob("*.toml")):
        if path.stem == "exact":
            names.append(exact.load(path).name)
        else:
            names += [n for e in config.load_all(path) for n in (e.name, e.family) if n]
    assert {"extended-b24", "dft-sft", "base-loss-b24-op-count", "subspace-k16"} <= set(names)
    assert all(inputs.NAME.fullmatch(name) for name in names)
    assert committed.NAME is inputs.NAME  # one definition


def test_a_bad_name_of_the_exact_experiment_is_refused(tmp_path):
    path = tmp_path / "exact.toml"
    path.write_text(config.preset_path("exact").read_text().replace('"exact"', '"a/b"', 1))
    with pytest.raises(ValueError) as raised:
        from pacbound.analysis import exact

        exact.load(path)
    assert str(raised.value) == f"{path}, line 6: name = 'a/b': {NAME_RULE}"
