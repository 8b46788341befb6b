"""Session Comfort: the service that carries a therapy session's comfort signals."""

__version__ = "0.1.0"
