"""Store: the versioned price history, atomic file writes and cross-process locks.

Imports only the shared base modules (`pipelines.schema`, `pipelines.config`).
"""
