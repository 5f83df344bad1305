"""The findings as they count: gate.yaml's `rules:`, the objects' ignore annotations and the lint baseline applied,
and --write-baseline's file written."""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import BaselineEntry, Finding
from gate.manifests import ManifestSet
from gate.outputs import cannot_write, replace_file
from gate.suppressions import Baseline, baseline_document, baseline_entries, load_baseline, object_annotations, settle


def settled(findings: list[Finding], config: GateConfig, manifests: ManifestSet, namespace: str,
            baseline_path: str | None = None, write_baseline: str | None = None
            ) -> tuple[tuple[Finding, ...], tuple[str, ...], tuple[BaselineEntry, ...]]:
    """The findings with gate.yaml's `rules:`, the objects' ignore annotations and the baseline applied (the one
    place suppressions are decided: gate.suppressions.settle); the notes and entries of a baseline no longer met.

    --write-baseline records today's counted failures and compares the run with what it wrote.
    """
    annotations = object_annotations(manifests.manifests, namespace)
    baseline = load_baseline(baseline_path) if baseline_path else None
    if write_baseline:
        entries = baseline_entries(settle(findings, config.rules, annotations, None, config.file)[0])
        try:
            replace_file(write_baseline, baseline_document(entries))
        except OSError as error:
            raise cannot_write("--write-baseline", write_baseline, error) from None
        baseline = Baseline(write_baseline, tuple(entries))
    result, absent = settle(findings, config.rules, annotations, baseline, config.file)
    notes = tuple(f"baseline {baseline.file if baseline else ''}: {entry.rule} on {entry.subject} no longer occurs "
                  f"({entry.message}); --write-baseline drops it" for entry in absent)
    return tuple(result), notes, absent
