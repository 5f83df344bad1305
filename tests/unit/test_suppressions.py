"""Suppressions (issue 26 items 1, 2, 4, 11): the ignore annotation, gate.yaml `rules:` and `exclude:`, and how
every report shows a suppressed finding; the SARIF and JSON documents validate against their schemas."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from gate.findings import Finding, Grade, Outcome, Severity
from gate.objects import ObjectRef
from gate.suppressions import settle
from tests.testing.cli import run
from tests.testing.lint import service, workload
from tests.testing.reports import valid_json, valid_sarif

REASON = "selector migrates in PR 12"


def broken(annotations: dict[str, str] | None = None, on_workload: bool = False) -> list[dict]:
    """A Service whose selector misses its Deployment's template (a service-selector error on the Service)."""
    deployment, svc = workload("Deployment", "web", {"app": "web"}), service("web", {"app": "wbe"})
    if annotations:
        (deployment if on_workload else svc)["metadata"]["annotations"] = annotations
    return [deployment, svc]


def write(tmp_path: Path, objects: list[dict], config: str | None = None) -> str:
    directory = tmp_path / "m"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    if config is not None:
        (directory / "gate.yaml").write_text(config)
    return str(directory)


def test_the_annotation_on_the_findings_subject_suppresses_it_and_every_report_shows_it(tmp_path: Path) -> None:
    path = write(tmp_path, broken({"ignore.deploy-gate.io/service-selector": REASON}))
    code, text, _ = run("lint", path)
    assert code == 0 and len(text.splitlines()) == 1  # no line of its own without -v: only the summary
    assert text.rstrip().splitlines()[-1].startswith("PASSED: 0 error(s), 0 warning(s), 1 passed, 0 not checkable, "
                                                     "1 suppressed (")
    _, verbose, _ = run("lint", path, "-v")
    assert f"suppressed ({REASON}): service/web" in verbose
    _, document, _ = run("lint", path, "-o", "json")
    [finding] = [f for f in valid_json(document)["findings"] if f["rule"] == "service-selector"]
    assert finding["outcome"] == "suppressed" and finding["suppression"] == {"kind": "inSource",
                                                                             "justification": REASON}
    assert valid_json(document)["counts"]["suppressed"] == 1
    _, sarif, _ = run("lint", path, "-o", "sarif")
    [result] = valid_sarif(sarif)["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "inSource", "status": "accepted", "justification": REASON}]
    _, junit, _ = run("lint", path, "-o", "junit")
    [skipped] = [s for s in ET.fromstring(junit).iter("skipped") if s.get("type") == "suppressed"]
    assert skipped.get("message") == f"suppressed: {REASON}"


def test_an_annotation_on_another_object_than_the_subject_does_not_suppress(tmp_path: Path) -> None:
    code, text, _ = run("lint", write(tmp_path, broken({"ignore.deploy-gate.io/service-selector": REASON},
                                                       on_workload=True)))
    assert code == 1 and "error: service/web" in text


def test_an_unknown_rule_in_the_annotation_is_exit_2_with_the_nearest_id(tmp_path: Path) -> None:
    code, _, err = run("lint", write(tmp_path, broken({"ignore.deploy-gate.io/service-selectr": REASON})))
    assert code == 2
    assert "app.yaml:" in err and "unknown rule 'service-selectr' (did you mean 'service-selector'?)" in err


def test_an_annotation_without_a_reason_is_exit_2(tmp_path: Path) -> None:
    code, _, err = run("lint", write(tmp_path, broken({"ignore.deploy-gate.io/service-selector": " "})))
    assert code == 2 and "give the reason for ignoring service-selector" in err


def test_gate_yaml_rules_off_suppresses_externally_and_drops_the_rules_passes(tmp_path: Path) -> None:
    path = write(tmp_path, broken(), "rules:\n  service-selector: 'off'\n")
    code, document, _ = run("lint", path, "-o", "json")
    [finding] = [f for f in valid_json(document)["findings"] if f["rule"] == "service-selector"]
    assert code == 0 and finding["suppression"]["kind"] == "external"
    assert "rule service-selector is off in" in finding["suppression"]["justification"]
    _, sarif, _ = run("lint", path, "-o", "sarif")
    assert valid_sarif(sarif)["runs"][0]["results"][0]["suppressions"][0]["kind"] == "external"
    fixed = write(tmp_path / "fixed", [workload("Deployment", "web", {"app": "web"}), service("web", {"app": "web"})],
                  "rules:\n  service-selector: 'off'\n")
    _, document, _ = run("lint", fixed, "-o", "json")
    assert not [f for f in json.loads(document)["findings"] if f["rule"] == "service-selector"]


def test_gate_yaml_rules_set_the_severity_and_a_note_fails_no_run_even_strict(tmp_path: Path) -> None:
    path = write(tmp_path, broken(), "rules:\n  service-selector: note\n")
    code, text, _ = run("lint", path, "--strict")
    assert code == 0 and "note: service/web" in text and ", 1 note(s)" in text
    warned = write(tmp_path / "w", broken(), "rules:\n  service-selector: warning\n")
    assert run("lint", warned)[0] == 0 and run("lint", warned, "--strict")[0] == 1


def test_strict_does_not_resurrect_a_suppressed_warning(tmp_path: Path) -> None:
    path = write(tmp_path, broken({"ignore.deploy-gate.io/service-selector": REASON}),
                 "rules:\n  service-selector: warning\n")
    code, sarif, _ = run("lint", path, "--strict", "-o", "sarif")
    assert code == 0 and valid_sarif(sarif)["runs"][0]["results"][0]["level"] == "warning"


def test_an_unknown_rule_in_gate_yaml_is_exit_2_with_the_nearest_id(tmp_path: Path) -> None:
    code, _, err = run("lint", write(tmp_path, broken(), "rules:\n  target-prot: 'off'\n"))
    assert code == 2 and "gate.yaml:2: rules.target-prot: unknown rule 'target-prot' (did you mean 'target-port'?)" \
        in err
    code, _, err = run("lint", write(tmp_path / "l", broken(), "rules:\n  target-port: loud\n"))
    assert code == 2 and "expected one of off, note, warning, error" in err


def test_exclude_leaves_example_folders_out_of_the_walk(tmp_path: Path) -> None:
    fixed = [workload("Deployment", "web", {"app": "web"}), service("web", {"app": "web"})]
    path = write(tmp_path, fixed, "exclude: [examples, '*/variant-*']\n")
    (tmp_path / "m" / "examples").mkdir()
    (tmp_path / "m" / "examples" / "kustomization.yaml").write_text("resources: []\n")  # walked: an error
    (tmp_path / "m" / "overlays" / "variant-a").mkdir(parents=True)
    (tmp_path / "m" / "overlays" / "variant-a" / "bad.yaml").write_text(yaml.safe_dump_all(broken()))
    assert run("lint", path)[0] == 0
    (tmp_path / "m" / "gate.yaml").write_text("exclude: []\n")
    assert run("lint", path)[0] == 2


def test_verify_findings_and_pairs_settle_the_same_way() -> None:
    """verify's findings go through settle too; a pair of gate.yaml is no object: only `rules:` applies to it."""
    rollout = Finding("rollouts", "rollout", ObjectRef("Deployment", "shop", "web"), "web rolls out",
                      Outcome.FAILED, "crash loop")
    pair = Finding("connectivity", "caller-pair", ObjectRef("Pair", "shop", "a -> b:80"), "a -> b:80",
                   Outcome.FAILED, "denied")
    annotations = {rollout.subject: {"rollout": "canary, judged by Argo Rollouts"},
                   pair.subject: {"caller-pair": "never applies"}}
    [settled_rollout, settled_pair], _ = settle([rollout, pair], {}, annotations)
    assert settled_rollout.grade() is Grade.SUPPRESSED
    assert settled_pair.is_error
    [noted_pair], _ = settle([pair], {"caller-pair": "note"}, annotations)
    assert noted_pair.severity is Severity.NOTE and noted_pair.grade(strict=True) is Grade.NOTE


def test_sarif_names_its_analysis_per_command_and_links_the_readme(tmp_path: Path) -> None:
    _, sarif, _ = run("lint", write(tmp_path, broken()), "-o", "sarif")
    run_ = valid_sarif(sarif)["runs"][0]
    assert run_["automationDetails"] == {"id": "deploy-gate/lint/"}
    assert run_["tool"]["driver"]["informationUri"] == "https://github.com/deploy-gate/deploy-gate#readme"


def test_explain_json_has_the_common_shape_and_validates(tmp_path: Path) -> None:
    path = write(tmp_path, [workload("Deployment", "web", {"app": "web"}), service("web", {"app": "web"})])
    code, document, _ = run("explain", "--from", "shop/deployment/web", "--to", "shop/web:80", "-f", path,
                            "-o", "json")
    parsed = valid_json(document)
    assert code == 0 and parsed["allowed"] is True
    assert parsed["counts"]["passed"] == 1 and parsed["findings"][0]["rule"] == "caller-pair"


def test_error_documents_validate_against_the_json_schema(tmp_path: Path) -> None:
    code, document, _ = run("lint", str(tmp_path / "missing.yaml"), "-o", "json")
    assert code == 2 and valid_json(document)["error"]["kind"] == "usage-error"
