"""Baselines (issue 26 item 3): write, move lines, re-run (unchanged); add a fault (new); fix one (absent)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gate.suppressions import BASELINE_VERSION
from tests.testing.cli import run
from tests.testing.lint import service, workload
from tests.testing.reports import valid_json, valid_sarif

WEB = [workload("Deployment", "web", {"app": "web"}), service("web", {"app": "wbe"})]
API = [workload("Deployment", "api", {"app": "api"}), service("api", {"app": "apj"})]


def write(path: Path, objects: list[dict], padding: int = 0) -> str:
    path.write_text("\n" * padding + yaml.safe_dump_all(objects, sort_keys=False))
    return str(path)


def states(sarif: str) -> dict[str, str]:
    return {result["message"]["text"].split(";")[0]: result["baselineState"]
            for result in valid_sarif(sarif)["runs"][0]["results"]}


def test_a_baseline_round_trip(tmp_path: Path) -> None:
    manifests, baseline = tmp_path / "app.yaml", str(tmp_path / "baseline.json")
    code, text, _ = run("lint", write(manifests, WEB + API), "--write-baseline", baseline)
    assert code == 0 and ", 2 suppressed" in text  # today's failures, recorded, are accepted
    document = json.loads(Path(baseline).read_text())
    assert document["version"] == BASELINE_VERSION
    assert [(e["rule"], e["subject"]) for e in document["findings"]] == [
        ("service-selector", "shop/Service/api"), ("service-selector", "shop/Service/web")]
    assert set(document["findings"][0]) == {"rule", "fingerprint", "subject", "message"}

    # the same faults on other lines, in another order: unchanged
    code, sarif, _ = run("lint", write(manifests, API + WEB, padding=7), "--baseline", baseline, "-o", "sarif")
    assert code == 0 and set(states(sarif).values()) == {"unchanged"}
    assert all(r["suppressions"][0]["kind"] == "external" for r in valid_sarif(sarif)["runs"][0]["results"])

    # a new fault fails the run, and only it
    extra = [workload("Deployment", "db", {"app": "db"}), service("db", {"app": "dv"})]
    code, document_text, _ = run("lint", write(manifests, WEB + API + extra), "--baseline", baseline, "-o", "json")
    failed = {f["object"]["name"]: f.get("baseline") for f in valid_json(document_text)["findings"]
              if f["outcome"] in ("failed", "suppressed")}
    assert code == 1 and failed == {"web": "unchanged", "api": "unchanged", "db": "new"}

    # a fixed fault is listed, so the file can shrink
    fixed_api = [workload("Deployment", "api", {"app": "api"}), service("api", {"app": "api"})]
    write(manifests, WEB + fixed_api)
    code, text, _ = run("lint", str(manifests), "--baseline", baseline)
    assert code == 0 and "service-selector on shop/Service/api no longer occurs" in text
    _, sarif, _ = run("lint", str(manifests), "--baseline", baseline, "-o", "sarif")
    [absent] = [r for r in valid_sarif(sarif)["runs"][0]["results"] if r["baselineState"] == "absent"]
    assert absent["kind"] == "pass" and absent["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "shop/Service/api"


def test_the_baseline_file_is_sorted_and_stable(tmp_path: Path) -> None:
    manifests = tmp_path / "app.yaml"
    run("lint", write(manifests, API + WEB), "--write-baseline", str(tmp_path / "a.json"))
    run("lint", write(manifests, WEB + API, padding=3), "--write-baseline", str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_a_missing_or_malformed_baseline_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    manifests = write(tmp_path / "app.yaml", WEB)
    code, _, err = run("lint", manifests, "--baseline", str(tmp_path / "none.json"))
    assert code == 2 and "none.json" in err
    for content, why in (("{", "not JSON"), ('{"version": 2, "findings": []}', "not a deploy-gate baseline"),
                         ('{"version": 1, "findings": [{"rule": "x"}]}', "findings[0]")):
        (tmp_path / "bad.json").write_text(content)
        code, _, err = run("lint", manifests, "--baseline", str(tmp_path / "bad.json"))
        assert code == 2 and f"bad.json: {why}" in err, err
        assert len(err.strip().splitlines()) == 1


def test_write_baseline_goes_through_the_safe_writer(tmp_path: Path) -> None:
    manifests = write(tmp_path / "app.yaml", WEB)
    code, _, err = run("lint", manifests, "--write-baseline", manifests)  # never over an input
    assert code == 2 and "--write-baseline" in err and (tmp_path / "app.yaml").read_text().startswith("apiVersion")
    code, _, err = run("lint", manifests, "--write-baseline", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = run("lint", manifests, "--write-baseline", str(tmp_path / "r.json"), "--junit",
                       str(tmp_path / "r.json"))
    assert code == 2 and "give each report its own file" in err
    code, _, err = run("lint", manifests, "--write-baseline", str(tmp_path / "b.json"), "--baseline",
                       str(tmp_path / "b.json"))
    assert code == 2 and "give one" in err
