"""The request-and-answer side of the service: the vendors' REST API and its OpenAPI document,
the platforms' webhooks, the widgets' pages, health and metrics, the one middleware that renders
every HTTP error, and HTTP hardening."""
