"""modeling: the popularity model and its metrics."""
