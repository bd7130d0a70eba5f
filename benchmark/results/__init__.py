"""Results: the result file, written atomically with its provenance and read back with its schema checked.

``load(path_or_dir)`` (``benchmark.results.frame.load``) reads result files into one pandas ``DataFrame``; it is
imported on first use, so importing this package stays light (``bench --help`` imports no pandas).
"""

__all__ = ["load"]


def __getattr__(name: str):
    if name == "load":
        from benchmark.results.frame import load

        return load
    raise AttributeError(f"module 'benchmark.results' has no attribute {name!r}")
