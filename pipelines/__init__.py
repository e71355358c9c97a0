"""Pipelines: normalize offers, gate them, merge them into the versioned history, publish."""
