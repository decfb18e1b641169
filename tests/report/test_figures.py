"""Figures a reader can trust: legends name only what is drawn and sit beside the data;
the headline figure shows each base draw and a switch interval one budget wide."""

import json

import matplotlib.pyplot as plt
import numpy as np

from pacbound.report.figures import closed_form_check, drawn, legend_beside, optimum_by_budget


def test_legend_beside_names_only_drawn_series(legend_problems):
    figure, axis = plt.subplots()
    axis.plot([1, 2], [1, 2], label="a line")
    axis.plot([1, 2], [np.nan, np.nan], label="an empty line")
    axis.scatter([], [], label="no points")
    axis.axvspan(1.5, 1.5, label="a span of zero width")
    legend_beside(axis)
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["a line"]
    figure.canvas.draw()
    assert legend_problems(figure) == []
    plt.close(figure)


def test_the_check_catches_an_entry_for_nothing_and_a_legend_over_the_data(legend_problems):
    figure, axis = plt.subplots()
    axis.plot(np.arange(10), np.arange(10), label="drawn")
    axis.scatter([], [], label="nothing")
    axis.legend(loc="center")
    figure.canvas.draw()
    problems = legend_problems(figure)
    assert "legend entry 'nothing' names nothing drawn" in problems
    assert any(p.startswith("legend over the data") for p in problems)
    plt.close(figure)


def test_drawn_knows_areas_bars_and_error_bars():
    figure, axis = plt.subplots()
    assert drawn(axis.fill_between([0, 1], [0, 0], [1, 1]))
    assert drawn(axis.bar([0], [1]))
    assert drawn(axis.errorbar([0], [1], yerr=[0.1]))
    assert not drawn(axis.plot([], [])[0])
    plt.close(figure)


def test_the_optimum_figure_draws_each_draw_and_the_switch_band(
    paper_figs, tmp_path, monkeypatch, legend_problems
):
    report = json.loads((paper_figs / "quick_report.json").read_text())
    drawn_figures = []
    keep = drawn_figures.append
    monkeypatch.setattr("pacbound.report.figures.save_figure", lambda figure, *_: keep(figure))
    optimum_by_budget(report, tmp_path, "quick")
    (axis,) = drawn_figures[0].axes
    labels = [t.get_text() for t in axis.get_legend().get_texts()]
    draws = [label for label in labels if label.startswith("base draw ")]
    assert len(draws) == len(report["draws"]) > 1
    low, high = report["switch"]["interval_95"]
    (band,) = [p for p in axis.patches if p.get_label().startswith("switch to")]
    assert f"[{low}, {high}]" in band.get_label()
    assert band.get_width() > 0  # one budget wide at least, so that it is seen
    assert not any(label.startswith("certified bound") for label in labels)  # none drawn
    drawn_figures[0].canvas.draw()
    assert legend_problems(drawn_figures[0]) == []
    plt.close(drawn_figures[0])


def test_the_closed_form_check_draws_every_risk_and_its_standardised_difference(tmp_path):
    exact = np.linspace(0.1, 0.5, 12)
    simulated, error = exact + 0.004, np.full(12, 0.002)
    paths = closed_form_check((exact, simulated, error), tmp_path, "x")
    assert [p.name for p in paths] == [
        "x_closed_form_vs_simulation.png",
        "x_closed_form_vs_simulation.pdf",
    ]
    assert all(p.stat().st_size > 1000 for p in paths)
