"""Wire formats as pure functions over bytes, dicts and numpy arrays (no I/O)."""
