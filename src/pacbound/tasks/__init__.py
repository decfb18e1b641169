"""Synthetic tasks with a difficulty knob: sampling, datasets and held-out test sets."""
