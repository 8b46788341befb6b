"""The request-and-answer side of the service: the vendors' REST API and its OpenAPI document,
the platforms' webhooks, the widgets' pages, and HTTP hardening."""
