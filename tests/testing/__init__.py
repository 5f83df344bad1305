"""Helpers the test tiers share (no test module imports another test module)."""

# Set by the controller of a test run before pytest-xdist starts its workers, which inherit it (tests/conftest.py):
# it names the run whose workers started the harness's cluster (tests/testing/e2e.py).
TEST_RUN = "DEPLOY_GATE_TEST_RUN"
# Set by pytest-xdist in its workers; the controller (or a run without -n) has none.
XDIST_WORKER = "PYTEST_XDIST_WORKER"
