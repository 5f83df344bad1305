"""Suppressions and baselines: which failed checks do not count, decided once, before any reporter.

Three mechanisms, applied in this order by `settle`, the one function that does it:
an object's annotation `ignore.deploy-gate.io/<rule>: "<reason>"` (in source: it
survives Helm and kustomize, comments do not), gate.yaml's `rules: {<rule>: off}`
(external), and a baseline file of accepted failures (external, matched by the
finding's fingerprint, so a moved line still matches). A suppressed failure is
never dropped: it keeps its outcome and carries its Suppression, every reporter
shows it, and it fails no run, `--strict` or not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from gate.errors import ManifestError, UsageError
from gate.findings import BaselineEntry, Finding, Outcome, Severity, Suppression, fingerprint, subject_path
from gate.manifests import Manifest, read_text
from gate.objects import ObjectRef, dig
from gate.rules import unknown_rule

ANNOTATION_PREFIX = "ignore.deploy-gate.io/"
PAIR = "Pair"  # the subject kind of a pair declared in gate.yaml: no manifest object, so no annotation
BASELINE_VERSION = 1
_FINGERPRINT = re.compile("[0-9a-f]{64}")

Annotations = Mapping[ObjectRef, Mapping[str, str]]  # per object: rule id -> reason


@dataclass(frozen=True)
class Baseline:
    file: str
    entries: tuple[BaselineEntry, ...]


def object_annotations(manifests: Iterable[Manifest], default_namespace: str) -> dict[ObjectRef, dict[str, str]]:
    """Each object's `ignore.deploy-gate.io/<rule>` annotations; an unknown rule or a missing reason is exit 2 at
    the annotation's line (a typo must not leave a finding unsuppressed, nor a suppression unexplained)."""
    found: dict[ObjectRef, dict[str, str]] = {}
    for manifest in manifests:
        for key, reason in (dig(manifest.obj, "metadata", "annotations") or {}).items():
            if not str(key).startswith(ANNOTATION_PREFIX):
                continue
            where = manifest.location("metadata", "annotations", key)
            rule = str(key)[len(ANNOTATION_PREFIX):]
            if problem := unknown_rule(rule):
                raise ManifestError.at(where, f"metadata.annotations[{key}]: {problem}")
            if not isinstance(reason, str) or not reason.strip():
                raise ManifestError.at(where, f"metadata.annotations[{key}]: give the reason for ignoring "
                                              f"{rule} as the annotation's value; it is shown in every report")
            found.setdefault(manifest.ref(default_namespace), {})[rule] = reason.strip()
    return found


def settle(findings: Iterable[Finding], rules: Mapping[str, str], annotations: Annotations,
           baseline: Baseline | None = None, config_file: str | None = None
           ) -> tuple[list[Finding], tuple[BaselineEntry, ...]]:
    """The findings as reported: gate.yaml's severities, then the suppressions; and the baseline entries that no
    longer occur. A rule turned off keeps its failures (suppressed) and drops its passes."""
    configured = [_configured(finding, rules.get(finding.rule), annotations, config_file) for finding in findings
                  if rules.get(finding.rule) != "off" or finding.outcome is Outcome.FAILED]
    if baseline is None:
        return configured, ()
    accepted = {entry.fingerprint for entry in baseline.entries}
    compared = [_compared(finding, accepted, baseline.file) for finding in configured]
    occurring = {fingerprint(finding) for finding in configured if finding.outcome is Outcome.FAILED}
    return compared, tuple(entry for entry in baseline.entries if entry.fingerprint not in occurring)


def _configured(finding: Finding, level: str | None, annotations: Annotations, config_file: str | None) -> Finding:
    """finding at gate.yaml's level for its rule, suppressed when it failed and an annotation or `off` says so."""
    severity = Severity(level) if level in {"note", "warning", "error"} else finding.severity
    suppression = _suppression(finding, level, annotations, config_file) if finding.outcome is Outcome.FAILED \
        else None
    return replace(finding, severity=severity, suppression=suppression)


def _compared(finding: Finding, accepted: set[str], file: str) -> Finding:
    """A failure with its baselineState; an unchanged one that still counted is suppressed by the baseline."""
    if finding.outcome is not Outcome.FAILED:
        return finding
    unchanged = fingerprint(finding) in accepted
    suppression = finding.suppression or (Suppression("external", f"in the baseline {file}") if unchanged else None)
    return replace(finding, baseline="unchanged" if unchanged else "new", suppression=suppression)


def _suppression(finding: Finding, level: str | None, annotations: Annotations,
                 config_file: str | None) -> Suppression | None:
    """The annotation on the finding's subject (a pair of gate.yaml is no object: none applies), else `off`."""
    reason = annotations.get(finding.subject, {}).get(finding.rule) if finding.subject.kind != PAIR else None
    if reason is not None:
        return Suppression("inSource", reason)
    if level == "off":
        return Suppression("external", f"rule {finding.rule} is off in {config_file or 'gate.yaml'}")
    return None


def baseline_entries(findings: Iterable[Finding]) -> list[BaselineEntry]:
    """Today's failures that count (errors and warnings, unsuppressed), one per fingerprint, sorted."""
    entries = {fingerprint(f): BaselineEntry(f.rule, fingerprint(f), subject_path(f.subject), f.message)
               for f in findings if f.is_error or f.is_warning}
    return sorted(entries.values(), key=lambda e: (e.rule, e.subject, e.fingerprint))


def baseline_document(entries: Iterable[BaselineEntry]) -> bytes:
    """The baseline file: versioned JSON, sorted and indented, so a diff of it reads as the change it is."""
    document = {"version": BASELINE_VERSION, "findings": [asdict(entry) for entry in entries]}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def load_baseline(path: str) -> Baseline:
    """A baseline file written by --write-baseline; a missing or malformed one is exit 2 naming it."""
    try:
        text = read_text(path)
    except ManifestError as error:
        raise UsageError(f"--baseline {error}") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UsageError(f"--baseline {path}: not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise UsageError(f"--baseline {path}: not a deploy-gate baseline of version {BASELINE_VERSION} "
                         f"(write one with --write-baseline)")
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise UsageError(f"--baseline {path}: 'findings' must be a list")
    entries = []
    for index, item in enumerate(findings):
        fields = {name: item.get(name) for name in ("rule", "fingerprint", "subject", "message")} \
            if isinstance(item, dict) else {}
        if not fields or not all(isinstance(value, str) for value in fields.values()) \
                or not _FINGERPRINT.fullmatch(fields["fingerprint"]):
            raise UsageError(f"--baseline {path}: findings[{index}]: expected rule, fingerprint (64 hex digits), "
                             f"subject and message strings")
        entries.append(BaselineEntry(**fields))
    return Baseline(path, tuple(entries))
