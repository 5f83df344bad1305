"""A cluster for the verify engine without a server: tests feed `Verification.observe` the watch events in order,
move a FakeClock and call `step()`, the calls `run()` makes; what the engine asks the cluster itself is answered here.
"""

from __future__ import annotations

from gate.errors import ClusterError
from gate.kinds import BUILTIN_RESOURCES, Resource
from gate.objects import Object


class FakeCluster:
    """The cluster calls a watch loop makes besides its first watches, recorded in order.

    `lists` answers the lists of the watchers the loop starts itself (the kinds that explain a verdict), by kind and
    namespace; each is recorded in `listed`. A failing check asks its pods' Warning events (none here); a deadline
    failure first asks the storage check (recorded in `storage_checks`), which raises `storage_error` when set.
    """

    server = "https://fake-cluster.invalid"

    def __init__(self, storage_error: ClusterError | None = None,
                 lists: dict[tuple[str, str | None], list[Object]] | None = None) -> None:
        self.storage_error = storage_error
        self.lists = lists or {}
        self.listed: list[tuple[str, str | None]] = []
        self.storage_checks: list[list[str]] = []
        self.deadline: float | None = None  # set by the loop: every request bounded by its deadlines

    def bound(self, deadline: float | None) -> None:
        self.deadline = deadline

    def time_left(self) -> None:
        """Lists here answer at once: the loop waits for them without a deadline of the cluster's."""
        return None

    def resource_for(self, kind: str, api_version: str, where: str = "") -> Resource:
        """A built-in kind's own Resource; any other (a custom kind's, a built-in name in another group) as
        discovery would name it: the kind in lower case and plural."""
        builtin = BUILTIN_RESOURCES.get(kind)
        if builtin is not None and builtin.api_version == api_version:
            return builtin
        group, _, version = api_version.rpartition("/")
        return Resource(kind, group, version, kind.lower() + "s")

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None
             ) -> tuple[list[Object], str]:
        self.listed.append((resource.kind, namespace))
        return self.lists.get((resource.kind, namespace), []), "1"

    def events_for(self, namespace: str, name: str) -> list[str]:
        return []

    def confirm_storage(self, paths: list[str]) -> None:
        self.storage_checks.append(paths)
        if self.storage_error is not None:
            raise self.storage_error
