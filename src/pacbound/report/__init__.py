"""Plain data into Markdown reports and figures: ``markdown`` (what every table shares and
the .md/.json pair), one module per report (``comparison``, ``predictions``,
``certificates``, ``families``, ``exact``, ``recommend``, ``probe``, ``console``), the
figures (``figures``, ``exact_figures``) and the index of paper_figs/ (``index``), which is
built from the reports' JSON and the same section renderers as the reports themselves.
What is computed here is only what a page shows of that JSON (a difference of two columns,
the row to mark), so re-rendering a committed report needs nothing but its JSON
(``pacbound figs --reports-only``).
"""
