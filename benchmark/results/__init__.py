"""Results: the result file, written atomically with its provenance and read back with its schema checked."""
