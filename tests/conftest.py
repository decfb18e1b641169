"""Shared test settings and fixtures.

- One hypothesis profile sized for the 2-core CI machine.
- One base-model cache for the whole session: every tiny experiment pretrains its base once.
- One swept tiny store and one certified tiny store, built once and only read by the tests
  that use them (a test that writes to a store makes its own).
- One XLA compilation cache for the session, shared by the workers: tests build the same
  small programs again and again (each runner jits its own closures), and a program
  compiled once is loaded after that (a file caught half-written is a warning and a
  recompile, not an error).
"""

import gc
import os
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# deadline=None: the first call of a jitted function compiles, which takes far longer than
# any later call. max_examples is bounded so the whole suite stays within its time budget.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,  # the same examples on every run: CI never flakes on a lucky draw
    suppress_health_check=[HealthCheck.too_slow],
)
# A deeper run for local checks: HYPOTHESIS_PROFILE=thorough python -m pytest
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory) -> Path:
    """The session's persistent XLA cache, for every worker's jits and the commands they
    start."""
    import jax

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' folders sit side by side in the session's
    folder = root / "xla-cache"
    folder.mkdir(exist_ok=True)
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": 0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)
    return folder


@pytest.fixture(scope="session")
def tiny() -> Path:
    """The tiny chain-task experiment: 2 buckets × 2 budgets × 3 seeds, in seconds."""
    return DATA / "tiny.toml"


@pytest.fixture(scope="session")
def tiny_certify() -> Path:
    """The tiny experiment certified, under full fine-tuning and a k = 8 subspace."""
    return DATA / "tiny_certify.toml"


@pytest.fixture(scope="session")
def paper_figs() -> Path:
    """The committed reports and figures."""
    return ROOT / "paper_figs"


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory) -> Path:
    """One cache of pretrained bases for every test that sweeps (keyed by config hash)."""
    return tmp_path_factory.mktemp("base-cache")


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, tiny, base_cache) -> Path:
    """The tiny experiment swept once into a store (read-only for its users)."""
    from pacbound.cli import main

    db = tmp_path_factory.mktemp("tiny-store") / "results.sqlite"
    argv = ["sweep", "--config", str(tiny), "--db", str(db), "--cache", str(base_cache)]
    assert main([*argv, "--quiet"]) == 0
    return db


@pytest.fixture(scope="session")
def certified_store(tmp_path_factory, tiny_certify, base_cache) -> tuple[Path, Path]:
    """(store, report folder) of ``pacbound certify`` on the tiny certified experiments."""
    from pacbound.cli import main

    folder = tmp_path_factory.mktemp("certified")
    db, out = folder / "results.sqlite", folder / "figs"
    argv = ["certify", "--config", str(tiny_certify), "--db", str(db), "--out", str(out)]
    assert main([*argv, "--cache", str(base_cache), "--quiet"]) == 0
    return db, out


def pytest_collection_finish(session):
    """What collection imported (jax, sympy, the package with its derivations) lives to the
    end of the run: frozen, it is left out of every garbage collection, each of which then
    walks only what the tests allocate (and the last ones, at exit, finish sooner)."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Tests that read a session store run on one worker (pytest-xdist), so each store is
    built once per run, not once per worker."""
    for item in items:
        for store in ("certified_store", "tiny_store"):
            if store in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(store))
                break
    # The groups first: each is one long unit of work, and one handed out last keeps a worker
    # busy while the other has nothing left (the suite's wall time, not its work).
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def misleading_legends(figure) -> list[str]:
    """What is wrong with a figure's legends: an entry whose series is not drawn, or a
    legend over an axes that shows data."""
    from pacbound.report.figures import drawn

    by_label: dict[str, list] = {}
    for axis in figure.axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            by_label.setdefault(label, []).append(handle)
    legends = [axis.get_legend() for axis in figure.axes if axis.get_legend()] + figure.legends
    renderer = figure.canvas.get_renderer()
    data_axes = [axis for axis in figure.axes if axis.axison and axis.has_data()]
    problems = []
    for legend in legends:
        for text in legend.get_texts():
            label = text.get_text()
            if label in by_label and not any(drawn(h) for h in by_label[label]):
                problems.append(f"legend entry {label!r} names nothing drawn")
        box = legend.get_window_extent(renderer)
        for axis in data_axes:
            if box.overlaps(axis.get_window_extent(renderer)):
                problems.append(f"legend over the data of {axis.get_title()!r}")
    return problems


@pytest.fixture
def legend_problems():
    """``misleading_legends``, for tests that check a figure they drew."""
    return misleading_legends


@pytest.fixture
def legend_check(monkeypatch) -> list[str]:
    """Every figure saved during the test is checked by ``misleading_legends``; the list
    collects what they found."""
    from matplotlib.figure import Figure

    found: list[str] = []
    save = Figure.savefig

    def checked(figure, path, *args, **kwargs):
        found.extend(f"{Path(path).name}: {p}" for p in misleading_legends(figure))
        return save(figure, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checked)
    return found


def _kl(p, q):
    """kl(p ‖ q) of two Bernoulli means in mpmath, 0·ln 0 = 0 (∞ where q = 0 < p or
    p < 1 = q)."""
    left = p * (mpmath.log(p) - mpmath.log(q)) if p > 0 else 0
    right = (1 - p) * (mpmath.log(1 - p) - mpmath.log(1 - q)) if p < 1 else 0
    return left + right


def reference_kl_inverse(p, budget, upper: bool = True):
    """The tests' one kl⁻¹, independent of the package: sup{q ∈ [p, 1] : kl(p ‖ q) ≤ budget}
    (``upper``) or inf{q ∈ [0, p] : kl(p ‖ q) ≤ budget}, by 70 halvings of the bracket on
    the binary kl written out above, in mpmath at 40 digits. An mpf within 2⁻⁷⁰ of the
    exact inverse, far below the tolerances the tests compare with."""
    with mpmath.workdps(40):
        p, budget = mpmath.mpf(p), mpmath.mpf(budget)
        inside, outside = (p, mpmath.mpf(1)) if upper else (p, mpmath.mpf(0))
        for _ in range(70):
            middle = (inside + outside) / 2
            if _kl(p, middle) <= budget:
                inside = middle
            else:
                outside = middle
        return +inside


@pytest.fixture(scope="session")
def kl_inverse():
    """``reference_kl_inverse``: the kl⁻¹ every test checks the package's against."""
    return reference_kl_inverse
