"""Experiment configs: TOML files loaded into frozen dataclasses, hashed as a whole.

A config names the task, the model, the pretraining of the base, the fine-tuning policy
and learner, the grid (buckets and their definition × budgets × seeds, the target), the
certificates and what ``compare`` uses. Presets live in ``experiments/<name>.toml``. Every
key is checked before anything is computed or written: an unknown key, a value of the wrong
type (checked against the dataclass's field types, ``pacbound.inputs``) or out of range
(``pacbound.limits``) is a one-line ``ValueError`` naming the file, the line, the table and
key, and what was expected."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from pacbound import inputs, limits
from pacbound.inputs import ConfigError, build, check_value, toml_value
from pacbound.model import ModelConfig
from pacbound.provenance import json_hash
from pacbound.recipe import OptimizerConfig, PretrainConfig
from pacbound.tasks.igsm import IGSMChain, IGSMLite
from pacbound.tasks.solvable import SolvableLinear

PRESET_DIR = Path(__file__).resolve().parents[2] / "experiments"
TASK_KINDS = {"igsm-chain": IGSMChain, "igsm": IGSMLite, "solvable": SolvableLinear}


@dataclass(frozen=True)
class Bucket:
    """A training bucket: levels low … high (inclusive), uniform weights."""

    name: str
    low: int
    high: int

    def weights(self) -> dict[int, Fraction]:
        return uniform_weights(self.low, self.high)


def uniform_weights(low: int, high: int) -> dict[int, Fraction]:
    return {k: Fraction(1, high - low + 1) for k in range(low, high + 1)}


@dataclass(frozen=True)
class GridConfig:
    buckets: tuple[Bucket, ...]
    budgets: tuple[int, ...] = field(metadata={"minimum": 1, "distinct": True})
    seeds: tuple[int, ...] = field(metadata={"minimum": 0, "distinct": True})
    target: tuple[int, int]  # inclusive range of levels, uniform weights
    test_size: int = field(default=128, metadata={"minimum": 1})  # held-out problems per level
    # models trained by one compiled program (one store transaction)
    ensemble: int = field(default=12, metadata={"minimum": 1})
    # "op-count": a bucket is its range of levels. "base-loss": the same shares of a pool of
    # ``pool`` problems per level, cut by the base's own loss (``pacbound.run.base_loss``).
    difficulty: str = "op-count"
    pool: int = field(default=512, metadata={"minimum": 1})

    def target_weights(self) -> dict[int, Fraction]:
        return uniform_weights(*self.target)

    @property
    def relative(self) -> bool:  # buckets cut by the base's loss: difficulty relative to it
        return self.difficulty == "base-loss"


CERTIFY_FAMILIES = ("isotropic", "magnitude")


@dataclass(frozen=True)
class CertifyConfig:
    """The ``[certify]`` table. Every choice the certificate may make is listed here, before
    any data is drawn: the σ grid and the families (their product is the union bound)."""

    enabled: bool = False
    # Each σ is one more choice of the union bound: a repeat would spend δ on nothing.
    sigmas: tuple[float, ...] = field(
        default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3), metadata={"distinct": True}
    )
    families: tuple[str, ...] = CERTIFY_FAMILIES
    epsilon: float = 1e-3  # ε of the magnitude-aware scale g_i = |θ_pre,i| + ε
    delta: float = 0.05
    mc_share: float = 0.5  # share of δ spent on the Monte-Carlo step
    pilot_draws: int = 16
    draws: int = 256
    validity_draws: int = 256
    simultaneous: bool = False
    chunk: int = 64  # θ draws evaluated by one compiled call
    seed: int = field(default=0, metadata={"minimum": 0})

    def __post_init__(self):
        if not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"sigmas = {list(self.sigmas)}: need at least one, all > 0")
        unknown = set(self.families) - set(CERTIFY_FAMILIES)
        if not self.families or unknown or len(set(self.families)) != len(self.families):
            raise ValueError(
                f"families = {list(self.families)}: allowed distinct values of {CERTIFY_FAMILIES}"
            )
        for name in ("delta", "mc_share"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)} is out of range: allowed (0, 1)")
        if not self.epsilon > 0:
            raise ValueError(f"epsilon = {self.epsilon} is out of range: allowed (0, inf)")
        for name in ("pilot_draws", "draws", "validity_draws", "chunk"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed [1, inf)"
                )

    def families_for(self, subspace: int) -> tuple[str, ...]:
        """The families a learner can use: on w (subspace) only the isotropic one."""
        return ("isotropic",) if subspace else self.families

    def choices(self, subspace: int) -> int:
        return len(self.sigmas) * len(self.families_for(subspace))

    def cell_delta(self, cells: int) -> float:
        return self.delta / cells if self.simultaneous else self.delta


@dataclass(frozen=True)
class CompareConfig:
    delta: float = 0.05  # δ of the solvable task's exact bound (language tasks: [certify])
    bound: str = "kl"  # the solvable task's bound: "kl" or "mcallester"
    pretrain_share: float = 0.5  # λ of the coverage shift term

    def __post_init__(self):
        if self.bound not in ("kl", "mcallester"):
            raise ValueError(f"bound = {self.bound!r} is not one of kl, mcallester")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta = {self.delta} is out of range: allowed (0, 1)")
        if not 0 <= self.pretrain_share <= 1:
            raise ValueError(
                f"pretrain_share = {self.pretrain_share} is out of range: allowed [0, 1]"
            )


@dataclass(frozen=True)
class DistributedConfig:
    """Multi-host runs: when enabled, ``jax.distributed.initialize`` is called with these
    before any computation; the ensemble axis then spans every host's devices."""

    enabled: bool = False
    coordinator_address: str = ""
    num_processes: int = field(default=1, metadata={"minimum": 1})
    process_id: int = field(default=0, metadata={"minimum": 0})

    def __post_init__(self):
        if self.process_id >= self.num_processes:
            raise ValueError(
                f"process_id = {self.process_id} is out of range: allowed "
                f"[0, {self.num_processes - 1}] (num_processes = {self.num_processes})"
            )
        if self.enabled and not self.coordinator_address:
            raise ValueError("enabled = true needs coordinator_address, the host:port of process 0")


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    task_kind: str
    task: object  # an instance of a class of TASK_KINDS
    grid: GridConfig
    finetune: OptimizerConfig
    model: ModelConfig | None = None  # None for the solvable task (a linear model)
    pretrain: PretrainConfig | None = None
    compare: CompareConfig = field(default_factory=CompareConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    certify: CertifyConfig = field(default_factory=CertifyConfig)
    family: str = ""  # the preset a multi-base experiment was expanded from (see ``expand``)
    # The pretraining seeds of the base draws (``[pretrain] seeds``): one base per seed, each
    # fine-tuned over the whole grid. The solvable task's base is given: one draw, seed 0.
    base_seeds: tuple[int, ...] = (0,)
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # as written in TOML

    def to_dict(self) -> dict:
        plain = json.loads(json.dumps(asdict(self), default=str))
        plain.pop("raw")
        # Options added after experiments were published are left out at their defaults,
        # so that an experiment that does not use them keeps its hash (its identity).
        if not self.certify.enabled:
            plain.pop("certify")
        for table in (plain["finetune"], (plain.get("pretrain") or {}).get("optimizer", {})):
            for name, default in (
                ("subspace", 0),
                ("projection_seed", 0),
                ("subspace_rate", None),
                ("objective", "sft"),
            ):
                if name in table and table[name] == default:
                    table.pop(name)
        if not self.grid.relative:  # the op-count default: earlier hashes unchanged
            for name in ("difficulty", "pool"):
                plain["grid"].pop(name)
        if plain.get("pretrain") and not plain["pretrain"]["disjoint"]:
            plain["pretrain"].pop("disjoint")
        if self.pretrain is None or self.base_seeds == (self.pretrain.seed,):
            plain.pop("base_seeds")  # one draw: the config says so by its pretraining seed
        return plain

    def hash(self) -> str:
        """Identifies the experiment: results and cached bases are keyed by it. The name, the
        distributed settings and the compare settings do not change results: left out."""
        plain = self.to_dict()
        for part in ("name", "distributed", "compare", "family"):
            plain.pop(part)
        return json_hash(plain)

    @property
    def levels(self) -> tuple[int, ...]:
        return task_levels(self.task)

    @property
    def cells(self) -> list[tuple[str, int, int]]:
        """(bucket, budget, seed) in a fixed order: buckets, then budgets, then seeds; the
        grid each base draw is fine-tuned over."""
        return [
            (b.name, n, s)
            for b in self.grid.buckets
            for n in self.grid.budgets
            for s in self.grid.seeds
        ]

    @property
    def held_out_problems(self) -> int:
        """Held-out problems each model is scored on (every level's test set)."""
        return len(self.levels) * self.grid.test_size

    @property
    def cell_count(self) -> int:
        """Cells over every base draw: what a finished experiment stores."""
        return len(self.base_seeds) * len(self.cells)

    def pretrain_for(self, base_seed: int) -> PretrainConfig:
        """The pretraining of the base draw with seed ``base_seed``."""
        if base_seed not in self.base_seeds:
            raise ValueError(f"base = {base_seed} is not one of the base seeds {self.base_seeds}")
        return replace(self.pretrain, seed=base_seed)


def task_levels(task) -> tuple[int, ...]:
    """The task's level numbers."""
    return tuple(task.level_range)


def kinds_with(capability: str) -> tuple[str, ...]:
    """The kinds whose task class has ``capability`` true: the kinds allowed where it is needed."""
    return tuple(kind for kind, task in TASK_KINDS.items() if getattr(task, capability))


SECTIONS = ("task", "model", "pretrain", "finetune", "grid", "compare", "distributed", "certify")
MODEL_DTYPES = ("float32", "bfloat16", "float16", "float64")


def _pretrain(table: dict, levels: tuple[int, ...]) -> tuple[PretrainConfig, tuple[int, ...]]:
    """The ``[pretrain]`` table: the base's levels, ``seeds`` (several base draws) or ``seed``
    (one), chunk and disjointness, and the optimizer's keys; (its config, the draws' seeds)."""
    table = dict(table)
    own = {f for f in inputs.field_types(PretrainConfig) if f != "optimizer"} | {"seeds"}
    top = {k: table.pop(k) for k in sorted(own) if k in table}
    optimizer = build(
        OptimizerConfig, table, "pretrain", also=own, limits=limits.LIMITS[OptimizerConfig]
    )
    seeds = top.pop("seeds", None)
    if seeds is not None and "seed" in top:
        message = "[pretrain] takes seed (one base draw) or seeds (several), not both"
        raise ConfigError(message, "pretrain", "seed")
    inputs.check_table(
        PretrainConfig, top, "pretrain", {"optimizer"}, limits=limits.LIMITS[PretrainConfig]
    )
    if seeds is not None:
        check_value("pretrain", "seeds", seeds, tuple[int, ...], minimum=0, distinct=True)
    base_seeds = (top.get("seed", 0),) if seeds is None else tuple(seeds)
    top["seed"] = base_seeds[0]
    limits.check_levels("[pretrain] levels", *top["levels"], levels, ("pretrain", "levels"))
    pretrain = build(
        PretrainConfig, top, "pretrain", limits=limits.LIMITS[PretrainConfig], optimizer=optimizer
    )
    return pretrain, base_seeds


def _task(raw: dict) -> tuple[str, object]:
    """(kind, task) of the ``[task]`` table."""
    task_table = dict(raw["task"])
    kind = task_table.pop("kind", None)
    if not isinstance(kind, str) or kind not in TASK_KINDS:
        message = f"task kind = {kind!r} is not one of {', '.join(TASK_KINDS)}"
        raise ConfigError(message, "task", "kind")
    task = build(TASK_KINDS[kind], task_table, "task", limits=limits.LIMITS.get(TASK_KINDS[kind]))
    limits.check_task(task)  # before its levels are listed
    return kind, task


def from_dict(raw: dict) -> ExperimentConfig:
    """The config from its TOML tables (as ``tomllib`` reads them, or as the store keeps them);
    a bad value is a ``ConfigError`` naming its table and key."""
    raw = dict(raw)
    inputs.check_document(raw, SECTIONS, ("name", "family"))
    for section in ("name", "task", "finetune", "grid"):
        if section not in raw:
            raise ConfigError(f"config lacks {section if section == 'name' else f'[{section}]'}")
    kind, task = _task(raw)
    levels = task_levels(task)

    grid_table = dict(raw["grid"])
    example = "buckets = { easy = [2, 4], hard = [5, 7] }"
    ranges = inputs.check_ranges("grid", "buckets", grid_table.pop("buckets", None), example)
    # Buckets in difficulty order (then by name), however the file lists them.
    buckets = tuple(
        sorted(
            (Bucket(name, *bounds) for name, bounds in ranges.items()),
            key=lambda b: (b.low + b.high, b.high, b.name),
        )
    )
    grid = build(GridConfig, grid_table, "grid", buckets=buckets)
    for bucket in buckets:
        name = f"[grid] bucket {bucket.name}"
        limits.check_levels(name, bucket.low, bucket.high, levels, ("grid", "buckets"))
    limits.check_levels("[grid] target", *grid.target, levels, ("grid", "target"))

    finetune = build(
        OptimizerConfig, raw["finetune"], "finetune", limits=limits.LIMITS[OptimizerConfig]
    )
    model = pretrain = None
    base_seeds = (0,)
    if not task.exact_risks:  # a network learns the task: it needs one, and a base
        if "model" not in raw or "pretrain" not in raw:
            raise ConfigError(f"task kind {kind!r} needs [model] and [pretrain]", "task", "kind")
        sizes = {"vocab_size": task.vocab_size, "length": task.length}
        model = build(
            ModelConfig, raw["model"], "model", limits=limits.LIMITS[ModelConfig], **sizes
        )
        if model.dtype not in MODEL_DTYPES:
            message = f"[model] dtype = {model.dtype!r} is not one of {', '.join(MODEL_DTYPES)}"
            raise ConfigError(message, "model", "dtype")
        pretrain, base_seeds = _pretrain(raw["pretrain"], levels)
        limits.check_sizes(grid, levels, model, max(finetune.batch, pretrain.optimizer.batch))
        limits.check_problems(task, grid.test_size, pretrain.disjoint)
    compare = build(CompareConfig, raw.get("compare", {}), "compare")
    distributed = build(DistributedConfig, raw.get("distributed", {}), "distributed")
    certify = CertifyConfig()  # disabled unless the config has a [certify] table
    if "certify" in raw:
        certify = build(CertifyConfig, {"enabled": True, **raw["certify"]}, "certify")
    if certify.enabled and task.exact_risks:
        raise ConfigError(
            f"[certify] is for the language tasks (the {kind} task's KL is exact)", "certify"
        )
    if finetune.subspace and task.exact_risks:
        raise ConfigError("subspace fine-tuning is for the language tasks", "finetune", "subspace")
    if finetune.objective != "sft" and task.exact_risks:
        raise ConfigError(
            f"objective = {finetune.objective!r} is for the language tasks", "finetune", "objective"
        )
    limits.check_difficulty(grid, certify.enabled or not (pretrain and pretrain.disjoint))
    limits.check_names(raw)  # last: a variant's bad value is named as written, not by its name
    return ExperimentConfig(
        name=raw["name"],
        task_kind=kind,
        task=task,
        grid=grid,
        finetune=finetune,
        model=model,
        pretrain=pretrain,
        compare=compare,
        distributed=distributed,
        certify=certify,
        family=raw.get("family", ""),
        base_seeds=base_seeds,
        raw=json.loads(json.dumps(raw)),
    )


def _finetune_variants(raw: dict, key: str, values: list) -> list[ExperimentConfig]:
    """One experiment per value of a ``[finetune]`` option, named by it, in one family."""
    hint, bounds = inputs.field_types(OptimizerConfig)[key], limits.LIMITS[OptimizerConfig]
    inputs.check_choices("finetune", key, values, hint, **bounds.get(key, {}))

    def suffix(value) -> str:
        if key == "subspace":
            return f"k{value}" if value else "full"
        return str(value)

    return [
        from_dict(
            {
                **raw,
                "name": f"{raw.get('name')}-{suffix(value)}",
                "family": str(raw.get("name")),
                "finetune": {**raw["finetune"], key: value},
            }
        )
        for value in values
    ]


def expand(raw: dict) -> list[ExperimentConfig]:
    """The experiments of one TOML: one, or one per variant of a family. Three kinds:

    - ``[pretrain] bases = { name = [low, high], … }`` in place of ``levels``: one experiment
      per base, named ``<name>-<base>`` (does a stronger base move the optimum harder?);
    - ``[finetune] subspace = [k, …]``: one experiment per learner, named ``<name>-k<k>``
      (``<name>-full`` for k = 0): fine-tuning in random subspaces of several dimensions;
    - ``[finetune] objective = ["sft", "dft", …]``: one experiment per objective, named
      ``<name>-<objective>``, on the same samples and seeds (their cells are paired).

    Each keeps ``<name>`` as its family, so that reports can set the variants side by side."""
    inputs.check_document(raw, SECTIONS, ("name", "family"))
    limits.check_names(raw)  # as written: a variant's name adds to it
    difficulties = dict(raw.get("grid", {})).get("difficulty")
    if isinstance(difficulties, list):
        return _difficulty_variants(raw, difficulties)
    bases = dict(raw.get("pretrain", {})).get("bases")
    subspaces = dict(raw.get("finetune", {})).get("subspace")
    objectives = dict(raw.get("finetune", {})).get("objective")
    varied = [
        (key, values)
        for key, values in (("objective", objectives), ("subspace", subspaces))
        if isinstance(values, list)
    ]
    if len(varied) + (bases is not None) > 1:
        raise ConfigError("a config varies one of the base, the subspace or the objective")
    if varied:
        return _finetune_variants(raw, *varied[0])
    if bases is None:
        return [from_dict(raw)]
    bases = inputs.check_ranges(
        "pretrain", "bases", bases, "bases = { weak = [2, 4], strong = [2, 7] }"
    )
    pretrain = {k: v for k, v in raw["pretrain"].items() if k != "bases"}
    if "levels" in pretrain:
        raise ConfigError("[pretrain] takes levels or bases, not both", "pretrain", "levels")
    every = task_levels(_task(raw)[1]) if "task" in raw else None  # else: lacks [task]
    for base, levels in bases.items():  # named as written, not as the variant's levels
        inputs.check_name(base, "pretrain", "bases", label="[pretrain] base name")
        if every is not None:
            limits.check_levels(f"[pretrain] bases.{base}", *levels, every, ("pretrain", "bases"))
    experiments = []
    for base, levels in bases.items():
        variant = {
            **raw,
            "name": f"{raw.get('name')}-{base}",
            "family": str(raw.get("name")),
            "pretrain": {**pretrain, "levels": levels},
        }
        experiments.append(from_dict(variant))
    return experiments


def _difficulty_variants(raw: dict, values: list) -> list[ExperimentConfig]:
    """``[grid] difficulty = ["op-count", "base-loss"]``: each definition on the same bases,
    grid and seeds, named ``<experiment>-<difficulty>``, in the family ``<name>``."""
    if (
        not values
        or not all(isinstance(v, str) for v in values)
        or len(set(values)) != len(values)
        or not set(values) <= set(limits.DIFFICULTIES)
    ):
        raise ConfigError(
            f"[grid] difficulty = {toml_value(values)}: need distinct values of "
            f"{', '.join(limits.DIFFICULTIES)}",
            "grid",
            "difficulty",
        )
    experiments = []
    for value in values:
        one = {**raw, "grid": {**raw["grid"], "difficulty": value}}
        for experiment in expand(one):
            variant = {**experiment.raw, "name": f"{experiment.name}-{value}"}
            variant["family"] = str(raw.get("name"))
            experiments.append(from_dict(variant))
    return experiments


def load_file(path: str | Path, make):
    """``make`` of the tables of the TOML file at ``path``; every error is one line naming the
    file (and, where ``make`` raised a ``ConfigError`` whose key the text shows, its line)."""
    text = inputs.read_text(path, "config")
    raw = inputs.parse_toml(text, path, "config")
    try:
        return make(raw)
    except ValueError as error:
        raise inputs.in_file(path, text, error) from None


def load_all(path: str | Path) -> list[ExperimentConfig]:
    """Every experiment of a TOML file (one per base for a multi-base file)."""
    return load_file(path, expand)


def load(path: str | Path) -> ExperimentConfig:
    """The experiment of a single-base TOML file."""
    experiments = load_all(path)
    if len(experiments) > 1:
        names = ", ".join(e.name for e in experiments)
        raise ValueError(f"config file {path} holds {len(experiments)} experiments ({names})")
    return experiments[0]


def preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.toml"
    if not path.is_file():
        names = sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
        raise ValueError(f"preset = {name!r} is not one of {', '.join(names)}")
    return path


def preset(name: str) -> ExperimentConfig:
    return load(preset_path(name))


def preset_all(name: str) -> list[ExperimentConfig]:
    return load_all(preset_path(name))


def learner_label(subspace: int, short: bool = False) -> str:
    """The fine-tuning learner in words: "full", or "subspace k = <k>" ("k = <k>" short)."""
    if not subspace:
        return "full"
    return f"k = {subspace}" if short else f"subspace k = {subspace}"
