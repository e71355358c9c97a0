"""The report site and dataset card: static pages and a README generated from the published
tables (a layer above derive, below ops; reads what was published, never writes tables)."""
