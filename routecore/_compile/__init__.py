"""Compilation: ``table`` builds one rule table spec per view from the models (attachment,
precedence, outcomes); ``status`` reports route and Gateway status as Kubernetes stores it."""
