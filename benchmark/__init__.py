"""voice2face-bench: the evaluation benchmark suite for face reconstruction from voice.

The engine (`benchmark.engine.run.run`) and the `bench` command line score a generator that pictures a
face from a speech clip, with a fixed judge, seeded trials and confidence intervals.
"""

__version__ = "0.1.0"
