"""A real single-node Kubernetes for deploy-gate's end-to-end tests (see README.md)."""
