"""Trials: columnar integer-coded trial tables (``benchmark.trials.columns``) and the seeded, frozen, hashed
builders shared by the task modules (``benchmark.trials.builders``)."""
