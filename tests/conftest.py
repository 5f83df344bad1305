"""Shared test configuration: e2e tests are marked and need a cluster; unit tests never do."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.testing import TEST_RUN, XDIST_WORKER

E2E_DIR = Path(__file__).parent / "e2e"


def pytest_configure(config: pytest.Config) -> None:
    if XDIST_WORKER not in os.environ:  # before pytest-xdist starts its workers, which inherit it
        os.environ[TEST_RUN] = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist no worker may stop the cluster the others share: the controller stops it, if this run's
    workers started it. Imported only then: the unit tier never loads the harness."""
    if XDIST_WORKER not in os.environ and getattr(session.config.option, "numprocesses", None):
        from tests.testing.e2e import stop_if_started_for

        stop_if_started_for(os.environ.get(TEST_RUN, ""))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
