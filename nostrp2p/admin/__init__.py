"""The admin endpoint: status JSON and Prometheus metrics on a unix socket in the data
directory, for ``nostrp2p status`` and for a local metrics scraper (docs/STATUS.md,
docs/METRICS.md). The service is in ``service``; ``status`` and ``words`` import nothing of
Twisted's web server, so the command-line tools can use them."""
