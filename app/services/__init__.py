"""Use cases: one module per family; the only layer that commits."""
