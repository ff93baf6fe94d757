"""A/B tests of a flow's texts: the model, deterministic assignment, and the statistics."""
