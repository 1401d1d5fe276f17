"""Compilation: ``options`` (RouterOptions, validated once), ``attach`` (one attachment record per
(route, parentRef), resolved once per configuration), ``table`` (the table spec, its builder and
precedence), ``views`` (the spec of one Gateway port or Service port), ``status`` (route and Gateway
status as Kubernetes stores it, rendered from the attachment records)."""
