"""The stage that produces cells: a sweep fine-tunes the grid (``sweep``), measures each cell
(``measure``) and certifies it (``certify``) into the store; ``probe`` retrains one cell to
look inside it. The three that decide a stored number (sweep, measure, certify) are hashed
into the store's record of the code (``pacbound.provenance.RESULT_MODULES``)."""
