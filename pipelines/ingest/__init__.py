"""Ingest: raw archive -> parsed offers -> normalized observations -> gate.

Recorded responses (`archive`) are parsed by the providers in `scrapers/`, normalized into
observation rows (`normalize`: GPU names via `gpus`, FX via `fx`) and checked against the
last good run (`gate`) before anything reaches the store.
"""
