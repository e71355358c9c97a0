"""The report site and dataset card: static pages and a README generated from the published
tables (a layer above derive, below ops; reads what was published, never writes tables)."""

# Where the site lives in the datasets directory and its price index page (one section per
# index, anchored by its id): the mail and the feed link to it.
SITE_DIR = "site"
PRICE_INDEX_PAGE = "price-index.html"
