"""Reference generators. Registered in ``benchmark.generators.registry.MODELS``."""
