"""`deploy-gate verify`: watch the touched objects until every check is decided.

One list+watch per kind and namespace (never per object) feeds a snapshot;
after each batch of changes the pure checks in gate/verify/checks.py run again, so
the verdict follows the last state change within the time it takes to
evaluate. Deadlines bound everything; nothing polls.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gate.cluster import TRACE, Cluster, Resource, Watcher, WatchEvent, end_watchers
from gate.errors import ClusterError
from gate.findings import Finding, Outcome, Phase
from gate.kinds import BUILTIN_RESOURCES, ENDPOINT_PASS_READS, KINDS, may_create_pods, rolls_out
from gate.location import Location, known
from gate.manifests import Manifest
from gate.objects import Object, ObjectRef, dig, kind_group, pod_template, ref_of, template_labels_path
from gate.references import references
from gate.verify.checks import PENDING, Check, Context, Verdict, evaluate
from gate.verify.snapshot import Snapshot, owner_chain

SYNC_TIMEOUT = 30.0  # seconds to list every kind before giving up on the cluster
# Past a deadline, how long a blind watch may take to reconnect before verify gives up (exit 3).
RECONNECT_GRACE = 10.0
# After an outage, how long a failure waits on the relisted state: kubelets report what happened meanwhile
# (readiness that passed while the API server was down) once it is back, and controllers catch up later
# still, as client-go's reflectors back off up to 30 s with jitter while the server is away; after an
# outage past the node monitor grace period the node controller also marks pods NotReady for a while.
# Passes need no wait: they are read from fresh state. Measurements: docs/reliability.md.
RESYNC_GRACE = 90.0
# Past the last deadline, how long the final judgement may still ask the cluster: the kinds that explain a failure,
# its pods' events, and the storage check (STORAGE_CHECK_SECONDS) before a deadline failure counts.
OVERTIME = 10.0
# How much later than the cluster's requests the initial sync gives up: a watcher's own error, which names
# the request that ran out of time, arrives first.
SYNC_SLACK = 0.5
TICK = 1.0  # re-evaluate at least this often: grace windows and deadlines pass without events

Watched = tuple[Resource, str | None]  # one kind in one namespace (None: cluster-scoped), listed and watched


@dataclass(frozen=True)
class Touched:
    """An object the apply touched, with its manifest when it came from one."""

    ref: ObjectRef
    api_version: str
    manifest: Manifest | None = None

    @classmethod
    def of(cls, manifest: Manifest, default_namespace: str) -> Touched:
        """The object a manifest writes, in `default_namespace` when it names none."""
        return cls(manifest.ref(default_namespace), str(manifest.obj.get("apiVersion")), manifest)


@dataclass
class Outage:
    """A time the watches were blind: the API server did not answer."""

    started: float  # time.monotonic()
    wall: datetime
    ended: float | None = None

    def describe(self, now: float | None = None, window: float | None = None) -> str:
        """'the API server was unreachable for 55 s of the 60 s window (12:00:01 to 12:00:56 UTC)'."""
        end = self.ended if self.ended is not None else (now if now is not None else time.monotonic())
        seconds = end - self.started
        until = (self.wall + timedelta(seconds=seconds)).strftime("%H:%M:%S")
        span = f"{self.wall.strftime('%H:%M:%S')} to {until} UTC" + ("" if self.ended is not None else ", still")
        of = f" of the {window:.0f} s window" if window is not None else ""
        return f"the API server was unreachable for {seconds:.0f} s{of} ({span})"


ROLLOUT_SECONDS = 300.0  # a rollout's deadline when neither --rollout-timeout nor --timeout sets one
ENDPOINTS_SECONDS = 60.0  # ready endpoints' deadline when neither --endpoints-timeout nor --timeout sets one


@dataclass(frozen=True)
class Deadlines:
    """Each check's deadline in seconds from the start of the watch loop."""

    rollout: float = ROLLOUT_SECONDS
    endpoints: float = ENDPOINTS_SECONDS
    wait_full: bool = False
    fail_fast: bool = False  # end at the first failed check; the undecided ones are reported as not decided

    @classmethod
    def chosen(cls, overall: float | None, rollout: float | None, endpoints: float | None, wait_full: bool = False,
               fail_fast: bool = False) -> Deadlines:
        """The deadlines of a run given --timeout (`overall`, the time the run has left) and the specific ones.

        Each check's deadline is the earlier of its own timeout and the overall one; one alone counts as given;
        neither: the defaults. As helm's --timeout, an overall deadline alone is every check's.
        """
        def earlier(own: float | None, default: float) -> float:
            given = [seconds for seconds in (own, overall) if seconds is not None]
            return min(given) if given else default

        return cls(earlier(rollout, ROLLOUT_SECONDS), earlier(endpoints, ENDPOINTS_SECONDS), wait_full, fail_fast)


Progress = Callable[[Check, float], None]


def _location(manifest: Manifest | None, *path: str | int) -> tuple[Location, ...]:
    if manifest is None:
        return ()
    return (manifest.location(*path),)


def fail_fast_reason(failed: ObjectRef) -> str:
    """Why a check was left undecided: one wording for the checks and the pairs."""
    return f"--fail-fast ended the run at the first failure ({failed})"


def unchecked_note(touched: list[Touched]) -> str | None:
    """Which touched objects have no check (static kinds other than Services)."""
    static = sorted({str(t.ref) for t in touched if not rolls_out(t.ref.spec) and t.ref.kind != "Service"})
    return f"no rollout to check for {len(static)} object(s): {', '.join(static)}" if static else None


def plan_checks(touched: list[Touched]) -> list[Check]:
    """A rollout check per touched object; an endpoints check per touched Service and per backend Service
    of a touched Ingress or route (traffic at the edge needs them as much as a Service's own callers)."""
    checks = []
    for item in touched:
        if not rolls_out(item.ref.spec):
            continue
        title = f"{item.ref.name} rolled out" if item.ref.runs_pods else f"{item.ref.name} is current"
        checks.append(Check(Phase.ROLLOUTS, item.ref, title, "rollout", locations=_location(item.manifest)))
    services = {item.ref for item in touched if item.ref.kind == "Service"}
    for item in touched:
        if item.ref.kind == "Service":
            checks.append(Check(Phase.ENDPOINTS, item.ref, f"{item.ref.name} has ready endpoints", "endpoints",
                                locations=_location(item.manifest, "spec", "selector")))
    for item in touched:
        if item.manifest is None or item.ref.namespace is None:
            continue
        for reference in references(item.manifest.obj, item.ref.namespace):
            backend = ObjectRef("Service", reference.namespace, reference.name)
            if reference.kind == "Service" and backend not in services:
                services.add(backend)
                checks.append(Check(Phase.ENDPOINTS, backend, f"{backend.name} has ready endpoints (backend of "
                                    f"{item.ref})", "endpoints", locations=_location(item.manifest, *reference.path)))
    return checks


def watched_resources(cluster: Cluster, touched: list[Touched], checks: list[Check]
                      ) -> tuple[set[Watched], set[Watched]]:
    """Which (kind, namespace) pairs to list+watch, in two sets: what a passing verdict reads (each checked
    object; each checked Service and its EndpointSlices), and what only a pending or failed verdict reads to
    explain itself (pods and their owners). A run whose first lists pass every check never lists the second:
    at 1,000 ready Services in 10 namespaces that is 30 lists instead of 80, and no pod (figures: bench/README.md)."""
    deciding: set[Watched] = set()
    explaining: set[Watched] = set()
    for check in checks:
        if check.phase == Phase.ENDPOINTS:
            deciding.update((KINDS[key].resource, check.ref.namespace) for key in ENDPOINT_PASS_READS)
            explaining.update((KINDS[key].resource, check.ref.namespace) for key in KINDS[("", "Service")].reads)
    for item in touched:
        namespace = item.ref.namespace
        if rolls_out(item.ref.spec):
            deciding.add((cluster.resource_for(item.ref.kind, item.api_version, str(item.ref)), namespace))
        explaining.update((KINDS[key].resource, namespace) for key in (item.ref.spec.reads if item.ref.spec else ()))
    return deciding, explaining - deciding


def at_deadline(verdict: Verdict, timed_out: bool, wait_full: bool) -> Verdict:
    """The deadline policy of endpoints checks: a failure is final when definitive (unless wait_full) or once
    the deadline passed; until then it is pending, and says what it waits for."""
    if verdict.outcome is not Outcome.FAILED:
        return verdict
    final = timed_out or (verdict.definitive and not wait_full)
    message = verdict.message
    if verdict.pods_may_come_from:
        sources = ", ".join(verdict.pods_may_come_from)
        message += (f" (waited for the endpoints deadline: pods may come from {sources})" if timed_out
                    else f" (waiting: pods may come from {sources})")
    return replace(verdict, outcome=Outcome.FAILED if final else PENDING, message=message)


def _drop_template_spec(obj: Object) -> None:
    """Free a live workload's pod template spec: no check reads it (the live pods carry theirs).

    The checks read a workload's status, replicas and template labels. A large
    run holds thousands of ReplicaSets (ten old ones per Deployment by default),
    and the template spec is half of each (figures: bench/README.md).
    """
    template = pod_template(obj) if isinstance(obj, dict) and obj.get("kind") != "Pod" else None
    if template is not None:
        template.pop("spec", None)


class Verification:
    """Runs the watch loop for one gate run; `run()` returns the findings."""

    def __init__(self, cluster: Cluster, touched: list[Touched], deadlines: Deadlines,
                 progress: Progress | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.cluster, self.touched, self.deadlines = cluster, touched, deadlines
        self.clock = clock  # seconds, monotonic: deadlines, outages and grace windows (tests pass a fake one)
        self.progress = progress or (lambda check, elapsed: None)
        self.checks = plan_checks(touched)
        self.rollout_checks: dict[ObjectRef, list[int]] = defaultdict(list)  # positions in self.checks
        self.endpoints_checks: dict[str | None, list[int]] = defaultdict(list)
        for position, check in enumerate(self.checks):
            if check.phase == Phase.ROLLOUTS:
                self.rollout_checks[check.ref].append(position)
            else:
                self.endpoints_checks[check.ref.namespace].append(position)
        self.snapshot = Snapshot()
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.stop = threading.Event()
        self.watching = threading.Event()  # set once the first lists leave a check pending
        self.watchers: list[Watcher] = []
        # Per namespace, the kinds not listed yet that only explain a verdict: listed once a check there has
        # not passed, before that verdict counts (see watched_resources).
        self.unexplained: dict[str | None, set[Watched]] = defaultdict(set)
        # Where each touched workload's template labels and each touched Service's selector are: where fixes go.
        self.locations = {item.ref: item.manifest.location(*(
            template_labels_path(item.manifest.obj) if item.ref.runs_pods else ("spec", "selector")))
            for item in touched if item.manifest is not None and (item.ref.runs_pods or item.ref.kind == "Service")}
        self.touched_refs = {item.ref for item in touched}
        # What may create pods that verify cannot foresee, per namespace: touched custom resources now, the
        # cluster's own custom resources once a Service's gap would otherwise be final (see endpoints_verdict).
        self.pod_sources: dict[str | None, tuple[str, ...]] = defaultdict(tuple)
        for item in touched:
            if may_create_pods(item.api_version, item.ref.kind):
                self.pod_sources[item.ref.namespace] += (str(item.ref),)
        self.looked_up: set[str | None] = set()
        # API server outages seen by the watchers: verdicts are held while any watch is blind.
        self.blind: set[Watched] = set()
        self.outages: list[Outage] = []
        # What changed since the last evaluation: the checks it can affect are evaluated at once, every
        # other pending check only each TICK (for deadlines and grace windows). Evaluating all 1,000
        # pending rollouts on every batch of events took a whole core while the rollouts ran.
        self.changed_refs: set[ObjectRef] = set()
        self.changed_namespaces: set[str | None] = set()
        self.stopped_at: Check | None = None  # the failure that ended the run early (fail_fast)
        self.api_versions = {item.ref: item.api_version for item in touched}
        self.started = self.clock()  # set again when run() starts
        self.final_deadline = max(deadlines.rollout, deadlines.endpoints)
        self.last_full = -TICK  # elapsed at the last evaluation of every pending check
        self.judging_from: float | None = None  # when the loop first ran past the last deadline
        self.confirmed: set[Phase] = set()  # phases whose deadline failures the storage check has let stand

    def observe(self, event: WatchEvent) -> None:
        """Take in one watch event (a list, a change, an outage's start or end): run() passes each one on.

        Raises the error an ERROR event carries.
        """
        if event.type == "ERROR":
            assert event.error is not None
            raise event.error
        watch: Watched = (event.resource, event.namespace)  # a kind of one group, as the watcher asked for it
        kind, namespace = event.resource.kind, event.namespace
        group = kind_group(kind, event.resource.api_version)  # None: the built-in kind's own (extensions/v1beta1: apps)
        if event.type == "DISCONNECTED":
            if not self.blind:
                self.outages.append(Outage(self.clock(), datetime.now(UTC)))
            self.blind.add(watch)
            return
        if event.type == "SYNCED" and watch in self.blind:
            self.blind.discard(watch)
            if not self.blind:
                self.outages[-1].ended = self.clock()
                self.changed_refs.update(c.ref for c in self.checks)  # everything is news after an outage
                self.changed_namespaces.update(c.ref.namespace for c in self.checks)
        for obj in event.objects:
            _drop_template_spec(obj)
        if event.type == "SYNCED":
            self.snapshot.replace_all(kind, namespace, event.objects, group)
            return
        for obj in event.objects:
            name = dig(obj, "metadata", "name")
            name = name if isinstance(name, str) else ""  # the snapshot holds a malformed one, naming it
            self.changed_refs.add(ObjectRef(kind, namespace, name, group))
            owners = owner_chain(obj, namespace, self.snapshot) if isinstance(obj, dict) else []
            self.changed_refs.update(ref_of(owner, namespace) for owner in owners)
            self.changed_namespaces.add(namespace)
            if event.type == "DELETED":
                self.snapshot.remove(kind, namespace, name, group)
            else:
                self.snapshot.put(kind, namespace, obj, group)

    def _watch(self, wanted: set[Watched]) -> None:
        """Start a watcher per (kind, namespace) and apply events until each has listed."""
        started = self.clock()
        for resource, namespace in sorted(wanted, key=lambda w: (w[0].kind, w[1] or "")):
            watcher = Watcher(self.cluster, resource, namespace, self.events, self.stop, go_on=self.watching)
            self.watchers.append(watcher)
            watcher.start()
        self._sync(started, wanted)

    def _sync(self, started: float, wanted: set[Watched]) -> None:
        synced: set[Watched] = set()
        while len(synced) < len(wanted):
            wait = SYNC_TIMEOUT - (self.clock() - started)
            left = self.cluster.time_left()
            by_deadline = left is not None and left + SYNC_SLACK < wait
            try:
                event = self.events.get(timeout=max(left + SYNC_SLACK if by_deadline else wait, 0.01))
            except queue.Empty as empty:
                troubles = "".join(f": {trouble}" for trouble in self._troubles()[:1])
                by = "before the deadline" if by_deadline else f"within {SYNC_TIMEOUT:.0f} s"
                raise ClusterError(f"could not verify: the API server at {self.cluster.server} did not answer the "
                                   f"initial lists {by}{troubles}") from empty
            self.observe(event)
            if event.type == "SYNCED":
                synced.add((event.resource, event.namespace))

    def _troubles(self) -> list[str]:
        """Why watchers do not follow the server (watches ending at once, 410 Gone again and again)."""
        return sorted({trouble for watcher in self.watchers if (trouble := watcher.trouble)})

    def _evaluate(self, elapsed: float, every_check: bool) -> None:
        """Decide the pending checks: all of them, or only those the changes since the last call can affect."""
        positions = range(len(self.checks)) if every_check else sorted(
            {p for ref in self.changed_refs for p in self.rollout_checks.get(ref, ())} |
            {p for namespace in self.changed_namespaces for p in self.endpoints_checks.get(namespace, ())})
        # Taken now: changes applied while the verdicts are computed (lists they start) count next time.
        self.changed_refs.clear()
        self.changed_namespaces.clear()
        pending = [self.checks[p] for p in positions if self.checks[p].verdict.outcome is PENDING]
        endpoints_timed_out = elapsed >= self.deadlines.endpoints
        for check, computed in zip(pending, self._verdicts(pending, elapsed), strict=True):
            verdict = computed if check.phase != Phase.ENDPOINTS else \
                at_deadline(computed, endpoints_timed_out, self.deadlines.wait_full)
            if verdict.outcome is not PENDING and self._holding(verdict):
                verdict = replace(verdict, outcome=PENDING)
            elif verdict.outcome is Outcome.FAILED and elapsed >= self._deadline_of(check):
                self._confirm(check.phase)
            changed = (verdict.outcome, verdict.message) != (check.verdict.outcome, check.verdict.message)
            check.verdict, check.seconds = verdict, elapsed
            if verdict.outcome is Outcome.FAILED and verdict.pods_to_explain and check.ref.namespace:
                check.events = tuple(f"pod/{pod}: {line}" for pod in verdict.pods_to_explain[:2]
                                     for line in self.cluster.events_for(check.ref.namespace, pod))
            if changed:
                self.progress(check, elapsed)

    def _verdicts(self, checks: list[Check], elapsed: float) -> list[Verdict]:
        """The pure checks' verdicts. Asks the cluster for more only when a verdict depends on it: the kinds that
        explain a check that has not passed, then the custom resources that may still create a Service's pods."""
        now = datetime.now(UTC)
        verdicts = evaluate(checks, self.snapshot, self._context(elapsed), now)
        unexplained = {c.ref.namespace for c, v in zip(checks, verdicts, strict=True)
                       if v.outcome is not Outcome.PASSED and c.ref.namespace in self.unexplained}
        if unexplained:
            self._watch(set().union(*(self.unexplained.pop(namespace) for namespace in unexplained)))
            self._judge_again(checks, verdicts, elapsed, now,
                              lambda c, v: v.outcome is not Outcome.PASSED and c.ref.namespace in unexplained)
        asking = {c.ref.namespace for c, v in zip(checks, verdicts, strict=True)
                  if v.needs_pod_sources and c.ref.namespace is not None}
        if asking:
            for namespace in sorted(asking, key=str):
                self.pod_sources[namespace] += tuple(self.cluster.custom_resources(namespace))
                self.looked_up.add(namespace)
            self._judge_again(checks, verdicts, elapsed, now,
                              lambda c, v: v.needs_pod_sources and c.ref.namespace in asking)
        return verdicts

    def _judge_again(self, checks: list[Check], verdicts: list[Verdict], elapsed: float, now: datetime,
                     which: Callable[[Check, Verdict], bool]) -> None:
        """Replace, in place, the verdicts `which` picks: those the cluster was just asked more for."""
        again = [i for i, (check, verdict) in enumerate(zip(checks, verdicts, strict=True)) if which(check, verdict)]
        for i, verdict in zip(again, evaluate([checks[i] for i in again], self.snapshot, self._context(elapsed), now),
                              strict=True):
            verdicts[i] = verdict

    def _context(self, elapsed: float) -> Context:
        endpoints_timed_out = elapsed >= self.deadlines.endpoints  # no look-up once the deadline passed
        return Context(self.touched_refs, self.locations, {
            namespace: sources if namespace in self.looked_up or sources or endpoints_timed_out else None
            for namespace in self.endpoints_checks for sources in (self.pod_sources[namespace],)},
            rollout_timed_out=elapsed >= self.deadlines.rollout)

    def _confirm(self, phase: Phase) -> None:
        """Before a deadline makes failures final: every watch follows the server, and the server reads its storage.

        With etcd stopped the API server stays up and its watches stay open but silent, so the snapshot may
        be the state of minutes ago; a server whose watches end at once, or expire at once, delivers no
        change either. Either way the deadline would blame the deploy for the cluster: exit 3 instead.
        One quorum read per (group, kind) and namespace judged, and /readyz, within STORAGE_CHECK_SECONDS.
        """
        if phase in self.confirmed:
            return
        if troubles := self._troubles():
            more = f" (and {len(troubles) - 1} more watch(es) failing)" if len(troubles) > 1 else ""
            raise ClusterError(f"could not verify: {troubles[0]}{more}")
        judged = {(check.ref.group, check.ref.kind, check.ref.namespace): check for check in reversed(self.checks)
                  if check.phase == phase}
        self.cluster.confirm_storage(sorted(self._resource_of(check).path(check.ref.namespace, check.ref.name)
                                            for check in judged.values()))
        self.confirmed.add(phase)

    def _resource_of(self, check: Check) -> Resource:
        """The checked object's kind: a Service for endpoints checks (touched or a backend), else touched."""
        if check.phase == Phase.ENDPOINTS:
            return BUILTIN_RESOURCES["Service"]
        return self.cluster.resource_for(check.ref.kind, self.api_versions[check.ref], str(check.ref))

    def _bound_requests(self, elapsed: float, final_deadline: float) -> None:
        """Bound the cluster's requests by the time the run may still take: its last deadline, then OVERTIME
        for the final judgement, or the grace an outage gets (RECONNECT_GRACE while blind, RESYNC_GRACE after)."""
        until = final_deadline
        if elapsed > final_deadline:
            self.judging_from = elapsed if self.judging_from is None else self.judging_from
            until = self.judging_from + OVERTIME
        if self.blind:
            pending = [self._deadline_of(c) for c in self.checks if c.verdict.outcome is PENDING]
            until = max([until, *(deadline + RECONNECT_GRACE + OVERTIME for deadline in pending)])
        elif self.outages and self.outages[-1].ended is not None:
            until = max(until, self.outages[-1].ended - self.started + RESYNC_GRACE + OVERTIME)
        self.cluster.bound(self.started + until)

    def _holding(self, verdict: Verdict) -> bool:
        """Whether a verdict must wait: no verdict from a blind watch, no failure from a stale relist."""
        if self.blind:
            return True
        ended = self.outages[-1].ended if self.outages else None
        return verdict.outcome is Outcome.FAILED and ended is not None and self.clock() - ended < RESYNC_GRACE

    def _deadline_passed(self, elapsed: float, final_deadline: float) -> bool:
        """Past the last deadline, and not waiting on an outage; exit 3 when an outage outlasts a check's deadline.

        A pending check whose deadline passed more than RECONNECT_GRACE ago while the watches are still
        blind cannot be decided on current state: that is "could not verify", not a verdict.
        """
        if self.blind:
            pending = [c for c in self.checks if c.verdict.outcome is PENDING]
            overdue = [c for c in pending if elapsed > self._deadline_of(c) + RECONNECT_GRACE]
            if overdue:
                window = self._deadline_of(overdue[0])
                known = "; ".join(c.verdict.message if c.verdict.message.startswith(str(c.ref)) else
                                  f"{c.ref}: {c.verdict.message}" for c in pending)
                raise ClusterError(f"could not verify: {self.outages[-1].describe(self.clock(), window)}; "
                                   f"last known state: {known}")
            return False
        if elapsed <= final_deadline:
            return False
        ended = self.outages[-1].ended if self.outages else None
        return ended is None or self.clock() - ended >= RESYNC_GRACE

    def _deadline_of(self, check: Check) -> float:
        return self.deadlines.rollout if check.phase == Phase.ROLLOUTS else self.deadlines.endpoints

    def step(self) -> bool:
        """One turn of run()'s loop at the clock's time: decide the checks the events observed since the last turn
        can affect (every pending check each TICK and past the last deadline); True once the run is over.

        Over: every check decided, the last deadline passed, or (fail_fast) a check failed. Raises ClusterError
        when the cluster cannot be trusted for a verdict (an outage past a deadline, storage or watches failing).
        """
        elapsed = self.clock() - self.started
        self._bound_requests(elapsed, self.final_deadline)
        # Past the last deadline every check is judged once more: one not re-evaluated since would
        # otherwise be reported undecided while its deadline has passed.
        every_check = elapsed - self.last_full >= TICK or elapsed > self.final_deadline
        self._evaluate(elapsed, every_check)
        self.last_full = elapsed if every_check else self.last_full
        if all(c.verdict.outcome is not PENDING for c in self.checks) or \
                self._deadline_passed(elapsed, self.final_deadline):
            return True
        if self.deadlines.fail_fast:
            self.stopped_at = next((c for c in self.checks if c.verdict.outcome is Outcome.FAILED), None)
        return self.stopped_at is not None

    def run(self) -> list[Finding]:
        """The findings, once every check is decided or the deadlines passed; every request bounded by them."""
        self.started = self.clock()
        self.last_full = -TICK
        unbounded = self.cluster.deadline
        self.cluster.bound(self.started + self.final_deadline)
        try:
            deciding, explaining = watched_resources(self.cluster, self.touched, self.checks)
            for watched in explaining:
                self.unexplained[watched[1]].add(watched)
            self._watch(deciding)
            while not self.step():
                self.watching.set()
                try:
                    self.observe(self.events.get(timeout=TICK))
                    while True:  # take every queued change before evaluating again
                        self.observe(self.events.get_nowait())
                except queue.Empty:
                    pass
        finally:
            decided = time.time()
            end_watchers(self.watchers)
            self.cluster.bound(unbounded)  # the probes that follow have deadlines of their own
            if TRACE:
                print(f"deploy-gate: trace: requests={self.cluster.requests} watches={self.watch_connections} "
                      f"watchers={len(self.watchers)} running={sum(w.is_alive() for w in self.watchers)} "
                      f"verdict at {decided:.6f}", file=sys.stderr, flush=True)
        return self.findings()

    def findings(self) -> list[Finding]:
        """A finding per check as decided so far: a check still pending is reported undecided."""
        return [self._finding(check) for check in self.checks]

    @property
    def watch_connections(self) -> int:
        return sum(w.connections for w in self.watchers)

    def _finding(self, check: Check) -> Finding:
        verdict = check.verdict
        outcome = verdict.outcome or Outcome.FAILED  # a check still pending when the run ends failed: undecided
        message = verdict.message if verdict.outcome is not PENDING else f"undecided: {verdict.message}"
        if verdict.outcome is PENDING and self.stopped_at is not None:
            outcome = Outcome.NOT_CHECKABLE
            message = f"not decided: {fail_fast_reason(self.stopped_at.ref)}; last seen: {verdict.message}"
        if check.phase == Phase.ROLLOUTS and outcome is Outcome.FAILED:
            message = f"{check.ref} did not roll out: {message}"
        evidence = verdict.evidence + check.events + tuple(
            f"decided after an API server outage: {outage.describe(self.clock())}" for outage in self.outages)
        locations = check.locations + known(verdict.fix_location)
        return Finding(check.phase, check.rule, check.ref, check.title, outcome, message,
                       evidence=evidence, fix=verdict.fix, locations=locations, seconds=check.seconds)
