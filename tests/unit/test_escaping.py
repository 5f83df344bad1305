"""Input-derived text is escaped for each medium it reaches: workflow commands, every line printed under
GitHub Actions, the step summary's Markdown, JUnit XML, JSON and SARIF. Payloads from hostile manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from gate.cli import main
from gate.escape import visible
from gate.findings import Finding, Outcome
from gate.location import Location
from gate.objects import ObjectRef
from gate.report import FORMATS, Report, render
from gate.report.github import annotations, neutralise, summary_markdown
from tests.testing.reports import valid_junit, valid_sarif

PAYLOADS = (
    "ok\n::error file=x::pwned",
    "::add-mask::secret",
    "::stop-commands::tok",
    "  ::warning::indented",
    "x ##[error]legacy",
    "## ✅ passed",
    "<img src=x onerror=alert(1)>",
    "```\nunbalanced fence",
    "\x1b[2K\rerased",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07",
    "nul\x00vt\x0b",
    "[click](http://x)",
)
HOSTILE = Finding("lint", "service-selector", ObjectRef("Service", "ns", PAYLOADS[1]), " | ".join(PAYLOADS),
                  Outcome.FAILED, " ".join(PAYLOADS), evidence=PAYLOADS, fix=PAYLOADS,
                  locations=(Location("dir/" + PAYLOADS[0] + ",x.yaml", 3),))
REPORT = Report("lint", (HOSTILE,), 1)


def runner_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """What actions/runner makes of one output line (ActionCommand.TryParseV2, then the legacy TryParse)."""
    trimmed = line.lstrip()
    if trimmed.startswith("::") and (end := trimmed.find("::", 2)) > 0:
        name, _, props = trimmed[2:end].partition(" ")
        properties = dict(p.split("=", 1) for p in props.split(",") if "=" in p)
        return name, properties, trimmed[end + 2:]
    if "##[" in line and "]" in line[line.index("##["):]:
        return line[line.index("##[") + 3:line.index("]", line.index("##["))].split(" ", maxsplit=1)[0], {}, ""
    return None


def unescape(text: str) -> str:
    for token, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(token, char)
    return text


def test_annotations_are_one_command_each_with_escaped_data_and_properties() -> None:
    [line] = annotations(REPORT)
    assert "\n" not in line and "\r" not in line
    name, properties, data = runner_command(line)
    assert name == "error" and set(properties) == {"file", "line", "title"}
    assert unescape(properties["file"]) == "dir/ok\\n::error file=x::pwned,x.yaml"
    assert unescape(data).splitlines()[0] == visible(" ".join(PAYLOADS))  # one line, control characters shown


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_line_printed_under_github_actions_is_a_command_but_the_annotations(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    labels = "{app: web, tier: " + json.dumps(" ".join(PAYLOADS)) + "}"
    Path("::stop-commands::tok.yaml").write_text(f"""\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{selector: {labels}, ports: [{{port: 80}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: 80}}]}}]}}
""")
    result = CliRunner().invoke(main, ["lint", "::stop-commands::tok.yaml", "-o", fmt],
                                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""})
    assert result.exit_code == 2  # the API server rejects such a label value: a manifest error naming it
    commands = [runner_command(line) for line in (result.stdout + result.stderr).splitlines()]
    assert [c[0] for c in commands if c] == ["error"]  # the one annotation deploy-gate meant: that error
    assert "\x1b" not in result.stdout + result.stderr
    if fmt in ("json", "sarif", "codequality") and result.stdout:
        document = valid_sarif(result.stdout) if fmt == "sarif" else json.loads(result.stdout)
        assert "::stop-commands::tok.yaml" in json.dumps(document)
    if fmt == "junit":
        error = valid_junit(result.stdout).find(".//error")
        assert "::error file=x::pwned" in (error.text or "") + error.get("message", "")  # the escape decodes back


def test_neutralise_keeps_each_medium_readable() -> None:
    assert neutralise("  ::add-mask::x\nok ##[error]y") == "  \\::add-mask::x\nok ##\\[error]y"
    assert json.loads(neutralise(json.dumps({"a": "##[error]x"}), FORMATS["json"].inert)) == {"a": "##[error]x"}
    xml = neutralise("<a>\n::error::x ##[y]</a>", FORMATS["junit"].inert)
    assert etree.fromstring(xml).text == "\n::error::x ##[y]"


def test_step_summary_renders_data_as_text() -> None:
    markdown = summary_markdown(REPORT)
    assert "\x1b" not in markdown and "\x00" not in markdown
    outside_code = re.sub("````.*?````", "", markdown, flags=re.DOTALL)
    assert "<" not in outside_code and "`" not in outside_code.replace("\\`", "")
    assert all(line.startswith(("## deploy-gate", "### ")) for line in outside_code.splitlines()
               if line.startswith("#"))
    fences = [line for line in markdown.splitlines() if re.fullmatch("`{3,}", line)]
    assert len(fences) == 2 and fences[0] == fences[1] == "````"  # longer than the ``` inside: it cannot close
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "\\#\\# ✅ passed" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ❌")]
    assert len(rows) == 1 and len(re.findall(r"(?<!\\)\|", rows[0])) == 6  # five cells: every data pipe escaped


def test_junit_shows_characters_xml_cannot_hold() -> None:
    document = valid_junit(render(REPORT, "junit"))
    failure = document.find(".//failure")
    assert "nul\\x00vt\\x0b" in failure.text and "\\x1b[2K\\rerased" in failure.text
    assert failure.text.splitlines()[0] == failure.get("message")


def test_json_and_sarif_carry_the_text_faithfully() -> None:
    document = json.loads(render(REPORT, "json"))
    assert document["findings"][0]["evidence"] == list(PAYLOADS)
    sarif = valid_sarif(render(REPORT, "sarif"))
    text = sarif["runs"][0]["results"][0]["message"]["text"]
    assert not re.search(r"(?<!\\)\[[^\]]*\]\(", text)  # no SARIF embedded link: brackets are escaped
