"""Progress of a sweep over its grid cells: a tqdm bar, or log lines."""

from __future__ import annotations

import sys


class ProgressBar:
    """A tqdm bar over grid cells (phase in its description), or log lines with --quiet."""

    def __init__(self, quiet: bool, name: str):
        self.quiet, self.name, self.bar = quiet, name, None

    def __call__(self, phase: str, done: int, total: int) -> None:
        done = round(done, 1)  # within a batch, cells done so far are fractional
        if self.quiet:
            print(f"[{self.name}] {phase}: {done:g}/{total} cells", file=sys.stderr, flush=True)
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True)
        self.bar.set_description(f"{self.name}: {phase}")
        self.bar.update(done - self.bar.n)  # the ETA is of the whole grid

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
