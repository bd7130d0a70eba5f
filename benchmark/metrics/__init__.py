"""Metrics: pure tensor functions, one value per trial (``pairwise``: 1:2, 1:N, retrieval, feature distances),
set distances between face sets (``sets``: FD and KID), and aggregation (``aggregate``: bootstraps over
identities, strata, flags)."""
