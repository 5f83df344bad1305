"""Fuzzing the loaders: random text and bytes, and mutated valid manifests and gate.yaml.

Whatever comes in, the manifest loader, the gate.yaml loader and the
apply-output parser either accept it or raise a GateError (one line, exit 2),
within bounded time and memory; and what they accept, lint judges without
crashing. Nothing else may escape.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.config import GateConfig, load_config
from gate.errors import GateError
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load, parse_apply_output

SCENARIO = Path(__file__).parents[2] / "examples" / "incident-scenario-2"
MANIFESTS = [path.read_text() for path in sorted((SCENARIO / "manifests").glob("*.yaml"))]
GATE_YAML = (SCENARIO / "gate.yaml").read_text()
# Values a careless or hostile author writes where a scalar was.
VALUES = st.sampled_from([
    "2", "yes", "null", "~", "-1", "0", "65536", "99999", "1e400", ".nan", ".inf", "'8080'", "PORT", "${PORT}",
    "'{{ .Values.x }}'", "[1, 2]", "{a: b}", "[]", "{}", "=", "&a x", "*a", "!!binary aGk=", "2026-11-27", "'a b'",
    "'\\x1b[2K'", '"a\\nb"', "http", "web.shop:80", "deployment/x", "'²'", "|\n  text", "''", "[{}]", "[[8080]]",
    # kubectl's scalar resolution and explicit tags (go-yaml v2): booleans, number forms, wrong or foreign tags
    "y", "N", "0o17", "0x1F90", "2:14:20", "1e3", "8080.0", "08", "!!int abc", "!!bool maybe", "!!timestamp 0x1F",
    '!!float ""', "!!map [a]", "!!seq a", "!!set", "!!omap [a: 1]", "!!int " + "9" * 5000, "9" * 5000,
    "web.shop.svc.cluster.local:80", "deployment/web/extra/x", "'bad key!'",
])
KEYS = st.sampled_from(["matchLabels", "matchExpressions", "podSelector", "ports", "port", "targetPort", "selector",
                        "labels", "containers", "template", "items", "kind", "apiVersion", "name", "namespace",
                        "<<", "from", "to", "endPort", "ipBlock", "policyTypes"])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
MEMORY_BOUND = 50 * 2 ** 20  # bytes of peak allocation per example; the inputs are at most a few KB


@st.composite
def mutated(draw: st.DrawFn, texts: list[str]) -> str:
    """A valid file with a few lines changed: a value, a key, deleted, duplicated or re-indented."""
    lines = draw(st.sampled_from(texts)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        key, colon, _ = line.partition(":")
        operation = draw(st.sampled_from(["value", "key", "delete", "duplicate", "indent", "dedent"]))
        if operation == "value" and colon:
            lines[index] = f"{key}: {draw(VALUES)}"
        elif operation == "key" and colon:
            indent = line[: len(line) - len(line.lstrip(" -"))]
            lines[index] = f"{indent}{draw(KEYS)}:{line.partition(':')[2]}"
        elif operation == "delete" and len(lines) > 1:
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "indent":
            lines[index] = "  " + line
        else:
            lines[index] = line[2:] if line.startswith("  ") else line
    return "\n".join(lines) + "\n"


def bounded(function: object, *args: object) -> object:
    """Run function; only a GateError may escape, and peak memory stays bounded."""
    tracemalloc.start()
    try:
        return function(*args)  # type: ignore[operator]
    except GateError as error:
        assert "\n" not in str(error)
        return None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, peak


def load_and_lint(path: Path, config: GateConfig) -> None:
    """What lint does with a file: load, then every rule; a loaded set never crashes a rule."""
    manifests = load([str(path)])  # a file, or a directory
    lint(Inventory.from_manifests(manifests.manifests, "default"), config)


@pytest.fixture
def fuzz_file(tmp_path: Path) -> Path:
    return tmp_path / "fuzz.yaml"


@FUZZ
@given(text=st.text(max_size=2000))
def test_manifest_loader_random_text(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(text, encoding="utf-8")
    bounded(load_and_lint, fuzz_file, GateConfig())


@FUZZ
@given(data=st.binary(max_size=2000))
def test_manifest_loader_random_bytes(fuzz_file: Path, data: bytes) -> None:
    fuzz_file.write_bytes(data)
    bounded(load_and_lint, fuzz_file, GateConfig())


@FUZZ
@given(index=st.integers(0, len(MANIFESTS) - 1), data=st.data())
def test_manifest_loader_mutated_manifests(tmp_path: Path, index: int, data: st.DataObject) -> None:
    """One file of the incident's set mutated, linted with the others and its gate.yaml (pairs and policies)."""
    for number, text in enumerate(MANIFESTS):
        (tmp_path / f"{number}.yaml").write_text(data.draw(mutated([text])) if number == index else text)
    config = load_config(SCENARIO / "gate.yaml")
    bounded(load_and_lint, tmp_path, config)


@st.composite
def json_like(draw: st.DrawFn) -> str:
    """A manifest as JSON, then spoiled the ways people write JSON by hand: trailing commas, comments,
    single quotes, NaN, a duplicate key, a second value."""
    text = json.dumps(yaml.safe_load(draw(st.sampled_from(MANIFESTS))), indent=draw(st.sampled_from([None, 2])))
    spoil = draw(st.sampled_from(["", "}", ",", "# note\n", "'", "NaN", '"kind": "x", ', "\n{}"]))
    at = draw(st.integers(0, len(text)))
    return text[:at] + spoil + text[at:]


@FUZZ
@given(text=json_like())
def test_json_manifests_are_strict_json(tmp_path: Path, text: str) -> None:
    """A .json file is accepted only as strict JSON (Python's json alone would take NaN)."""
    path = tmp_path / "fuzz.json"
    path.write_text(text, encoding="utf-8")
    if bounded(load, [str(path)]) is not None:
        json.loads(text, parse_constant=lambda constant: pytest.fail(f"accepted {constant}"))


@FUZZ
@given(text=st.one_of(st.text(max_size=1000), mutated([GATE_YAML])))
def test_gate_yaml_loader(tmp_path: Path, text: str) -> None:
    """Random and mutated gate.yaml; what loads is then used for the scenario's pairs without a crash."""
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    config = bounded(load_config, path)
    if isinstance(config, GateConfig):
        bounded(load_and_lint, SCENARIO / "manifests", config)


@FUZZ
@given(text=st.one_of(st.text(max_size=1000), mutated(MANIFESTS),
                      st.lists(st.from_regex(r"[a-z.]{1,12}/[a-z0-9-]{1,10}( (created|configured))?", fullmatch=True),
                               max_size=5).map("\n".join)))
def test_apply_output_parser(text: str) -> None:
    result = bounded(parse_apply_output, text, "<apply output>")
    if isinstance(result, list):
        assert result and all(isinstance(kind, str) and isinstance(name, str) for kind, name in result)
