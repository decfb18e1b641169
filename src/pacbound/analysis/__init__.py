"""Stored cells into plain data: arrays over (bucket, budget, seed) (``table``), the measured
optimum's statistics (``optimum``), the comparison of one experiment (``comparison``) and of
experiments side by side (``families``), certificate summaries (``certificates``), the
predictors and their evaluation (``runs``, ``predictors``, ``predict``), the shift terms'
assumptions, the recommendation at a budget, and the exact model (``exact``).

Every function takes data and returns dicts or dataclasses: no Markdown, no files. The
JSON of a report is this data; ``pacbound.report`` renders it, ``pacbound.pipeline`` writes
it. The stages sit in separate packages, rather than one module per report, so that a
number is computed once and every report that shows it reads the same value.
"""
