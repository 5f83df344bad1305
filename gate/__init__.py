"""deploy-gate: the truth about a cluster right after `kubectl apply`."""

__version__ = "0.1.0"
