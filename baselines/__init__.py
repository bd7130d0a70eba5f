"""Reference generators. Registered in ``benchmark.registry.MODELS``."""
