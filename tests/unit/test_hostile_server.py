"""verify against a hostile API server: every wait ends by the deadline, retries back off, memory stays bounded.

Each test runs `deploy-gate verify` as its own process (its peak memory is its own VmHWM) against
tests/unit/hostile_server.py misbehaving one way, with a 3 s deadline, and asserts the exit code, the
one error line naming the cause, the time taken, the requests sent and the memory used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.testing.hostile_server import (
    ALLOWED_PAST_DEADLINE,
    DEPLOYMENTS,
    NAMESPACE,
    WIDGETS_DISCOVERY,
    HostileApiServer,
    Run,
    deploy_gate,
    deployment,
    error_line,
)

DEADLINE = 3.0
FIRST_FEW = 4  # requests per watched resource before the backoff has to show


def verify(server: HostileApiServer, tmp_path: Path, *objects: dict, deadline: float = DEADLINE,
           env: dict[str, str] | None = None) -> Run:
    """`deploy-gate verify` of `objects` against the server."""
    manifest = tmp_path / "set.yaml"
    manifest.write_text(yaml.safe_dump_all(objects or [deployment()]))
    return deploy_gate(server, tmp_path, ["verify", "-f", str(manifest), "--rollout-timeout", str(deadline),
                                          "--endpoints-timeout", str(deadline)], env)


def widget() -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": NAMESPACE}}


def assert_unverifiable(run: Run, *words: str) -> None:
    assert run.exit_code == 3, (run.exit_code, run.stdout, run.stderr)
    line = error_line(run)
    assert line.startswith("deploy-gate: error: could not verify: "), line
    for word in words:
        assert word in line, line
    assert run.seconds <= DEADLINE + ALLOWED_PAST_DEADLINE, run.seconds


@pytest.mark.parametrize(("misbehaviour", "objects", "named"), [
    ("drip-discovery", (widget(),), f"GET {WIDGETS_DISCOVERY}: no complete answer"),
    ("drip-list", (deployment(),), "list deployments.apps in namespace shop: no complete answer"),
])
def test_a_drip_fed_answer_ends_at_the_deadline(tmp_path: Path, misbehaviour: str, objects: tuple[dict, ...],
                                                named: str) -> None:
    """A byte every half second: no recv ever times out, yet the run ends at its deadline, naming the request."""
    with HostileApiServer(misbehaviour) as server:
        run = verify(server, tmp_path, *objects)
    assert_unverifiable(run, named, "before the run's deadline", "bytes received")


def test_a_list_whose_continue_tokens_never_end_ends_at_the_deadline(tmp_path: Path) -> None:
    with HostileApiServer("endless-continue") as server:
        run = verify(server, tmp_path, env={"DEPLOY_GATE_MAX_LIST_PAGES": "1000000"})
    assert_unverifiable(run, "list deployments.apps in namespace shop (page ")


def test_a_list_whose_continue_tokens_never_end_stops_at_the_page_limit(tmp_path: Path) -> None:
    """explain --live and any run without a deadline: the page cap ends it."""
    with HostileApiServer("endless-continue") as server:
        run = verify(server, tmp_path, deadline=60, env={"DEPLOY_GATE_MAX_LIST_PAGES": "20"})
    assert run.exit_code == 3, run.stderr
    assert "still not complete after DEPLOY_GATE_MAX_LIST_PAGES=20 pages" in error_line(run)
    assert server.requests[DEPLOYMENTS] == 20


def test_explain_live_against_continue_tokens_that_never_end_stops_at_the_page_limit(tmp_path: Path) -> None:
    """explain --live has no deadline: it once sent 444 requests in 20 s and never returned."""
    with HostileApiServer("endless-continue") as server:
        run = deploy_gate(server, tmp_path, ["explain", "--live", "--from", "shop/web", "--to", "shop/web:80"],
                          env={"DEPLOY_GATE_MAX_LIST_PAGES": "50"})
    assert run.exit_code == 3, run.stdout + run.stderr
    assert "still not complete after DEPLOY_GATE_MAX_LIST_PAGES=50 pages" in error_line(run)
    assert sum(server.requests.values()) == 50


@pytest.mark.parametrize(("misbehaviour", "named"), [
    ("watch-ends-at-once", "the watch of deployments.apps in namespace shop ended at once without an event"),
    ("watch-410", "the watch of deployments.apps in namespace shop answered 410 Gone"),
])
def test_watches_that_fail_at_once_back_off_and_the_deadline_is_exit_3(tmp_path: Path, misbehaviour: str,
                                                                        named: str) -> None:
    """Watches ending at once made 16,333 requests in 10 s, ERROR 410 1,804. Now each watched resource is asked
    at most every 0.8 to 1.6 s, then less often; and no deadline verdict comes from a watch that follows nothing."""
    with HostileApiServer(misbehaviour) as server:
        run = verify(server, tmp_path, deadline=5)
    assert run.exit_code == 3, run.stderr
    assert named in error_line(run)
    assert run.seconds <= 5 + ALLOWED_PAST_DEADLINE
    for path, count in server.requests.items():
        assert count <= FIRST_FEW + 2 * run.seconds, (path, count, dict(server.requests))
    assert server.requests[DEPLOYMENTS] >= 3  # it did retry


def test_410_on_every_list_backs_off_and_the_deadline_is_exit_3(tmp_path: Path) -> None:
    with HostileApiServer("list-410") as server:
        run = verify(server, tmp_path, deadline=5)
    assert run.exit_code == 3, run.stderr
    assert "did not answer the initial lists before the deadline: the API server answered 410 Gone to the list of " \
           "deployments.apps in namespace shop" in error_line(run)
    assert run.seconds <= 5 + ALLOWED_PAST_DEADLINE
    assert 3 <= server.requests[DEPLOYMENTS] <= FIRST_FEW + 2 * run.seconds, dict(server.requests)


@pytest.mark.parametrize(("misbehaviour", "named"), [
    ("endless-body", "the answer is larger than DEPLOY_GATE_MAX_RESPONSE_BYTES=67108864"),
    ("many-objects", "JSON objects, more than DEPLOY_GATE_MAX_RESPONSE_OBJECTS=1000000"),
    ("many-items", "more than DEPLOY_GATE_MAX_LIST_ITEMS=50000 items"),
])
def test_memory_stays_bounded_by_the_response_limits(tmp_path: Path, misbehaviour: str, named: str) -> None:
    """A 1.5 GB list reached 4.3 GB of memory, 3 million items 5.4 GB: now a cap ends the run first."""
    with HostileApiServer(misbehaviour) as server:
        run = verify(server, tmp_path, deadline=30)
    assert run.exit_code == 3, run.stderr
    assert named in error_line(run)
    assert run.peak_rss_mb < 250, run.peak_rss_mb


def test_a_response_limit_can_be_set_and_a_bad_one_is_a_usage_error(tmp_path: Path) -> None:
    with HostileApiServer("many-items") as server:
        run = verify(server, tmp_path, deadline=30, env={"DEPLOY_GATE_MAX_LIST_ITEMS": "15000"})
        assert "more than DEPLOY_GATE_MAX_LIST_ITEMS=15000 items (page 2)" in error_line(run)
        run = verify(server, tmp_path, env={"DEPLOY_GATE_MAX_LIST_ITEMS": "lots"})
    assert run.exit_code == 2
    assert "DEPLOY_GATE_MAX_LIST_ITEMS='lots': expected a positive whole number" in error_line(run)


@pytest.mark.parametrize(("misbehaviour", "named", "seconds"), [
    ("frozen-storage", "(/readyz: get  failed (500): [-]etcd failed: reason withheld)", DEADLINE + 2),
    ("frozen-storage-readyz-ok", f"(GET {DEPLOYMENTS}/web: no answer from", DEADLINE + 5 + 2),
])
def test_no_deadline_failure_from_a_storage_that_does_not_answer(tmp_path: Path, misbehaviour: str, named: str,
                                                                  seconds: float) -> None:
    """etcd frozen: the API server is up, its watches open and silent. The deadline would fail the rollout on
    minutes-old state; the storage check (/readyz, a quorum read, within 5 s) makes it exit 3 instead."""
    with HostileApiServer(misbehaviour) as server:
        run = verify(server, tmp_path)
    assert run.exit_code == 3, run.stdout + run.stderr
    assert f"could not verify: the API server's storage is unavailable {named}" in error_line(run)
    assert "did not roll out" not in run.stdout
    assert run.seconds <= seconds + 1.0, run.seconds


@pytest.mark.parametrize(("misbehaviour", "named"), [
    ("junk-list", "malformed JSON"), ("nan-list", "malformed JSON (NaN is not JSON (RFC 8259))"),
    ("junk-watch", "malformed JSON"), ("watch-event-not-object", "a watch event that is not a JSON object"),
])
def test_an_answer_that_is_not_the_json_the_api_server_writes_is_exit_3(tmp_path: Path, misbehaviour: str,
                                                                        named: str) -> None:
    with HostileApiServer(misbehaviour) as server:
        run = verify(server, tmp_path)
    assert run.exit_code == 3, run.stderr
    line = error_line(run)
    assert named in line and "internal error" not in line, line
    assert run.seconds <= DEADLINE + ALLOWED_PAST_DEADLINE, run.seconds


def test_a_list_item_that_is_not_an_object_stops_no_check_that_does_not_read_it(tmp_path: Path) -> None:
    """The snapshot holds the junk item as malformed (a check listing that kind would be exit 3 naming it); the
    Deployment read by name is judged as it is: not ready by the deadline."""
    with HostileApiServer("item-not-object") as server:
        run = verify(server, tmp_path)
    assert run.exit_code == 1 and "internal error" not in run.stderr, run.stderr
    assert "timed out: Ready: 0/1" in run.stdout
