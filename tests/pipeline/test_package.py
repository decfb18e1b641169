"""The pipeline package: every name it offers resolves, and a command loads only its own
stages (the package imports none of them until a name is asked for)."""

import subprocess
import sys

import pytest

import pacbound.pipeline as pipeline


@pytest.mark.parametrize("name", sorted(pipeline._HOMES))
def test_every_offered_name_is_its_home_module_s(name):
    import importlib

    home = importlib.import_module(f"pacbound.pipeline.{pipeline._HOMES[name]}")
    assert getattr(pipeline, name) is getattr(home, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        pipeline.nothing  # noqa: B018


def test_the_bound_and_a_pilot_file_s_recommendation_load_neither_store_nor_figures():
    script = (
        "import sys\n"
        "from pacbound.pipeline.recommend import recommendation\n"
        "from pacbound.pipeline.theory import bound_rows\n"
        "heavy = ('matplotlib', 'pacbound.store', 'pacbound.report.figures', 'pacbound.train')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
