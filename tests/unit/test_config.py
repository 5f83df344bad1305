"""gate.yaml: valid fields parse; every mistake is one line with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import Caller, Target, caller_from_text, load_config, target_from_text
from gate.errors import ConfigError, ManifestError
from gate.location import Location
from gate.manifests import load


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


def test_full_config(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, """\
rollout_timeout: 2m
endpoints_timeout: 45s
wait_full_timeout: true
fail_fast: true
required_labels: [app, tier]
probe: {image: my/busybox:1, mode: exec, timeout: 10}
pairs:
  - from: shop/deployment/api
    to: db.data:5432
    expect: deny
  - from: {namespace: shop, labels: {app: web}}
    to: api:http
    http: /healthz
    timeout: 5
"""))
    assert (config.rollout_timeout, config.endpoints_timeout, config.wait_full_timeout) == (120, 45, True)
    assert config.fail_fast
    assert (config.probe_image, config.probe_mode, config.probe_timeout) == ("my/busybox:1", "exec", 10)
    first, second = config.pairs
    assert first.caller == Caller("shop", ("Deployment", "api")) and first.target == Target("db", "data", 5432)
    assert not first.expect_allow and first.location == Location(str(tmp_path / "gate.yaml"), 8)
    assert second.caller == Caller("shop", None, {"app": "web"}) and second.target == Target("api", None, "http")
    assert second.http_path == "/healthz" and second.timeout == 5


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    # unset: the deadlines' defaults (300 s, 60 s) are gate.verify.engine.Deadlines'
    assert config.endpoints_timeout is None and config.probe_image == "busybox:1.36" and config.pairs == ()
    assert not config.fail_fast and not config.wait_full_timeout


@pytest.mark.parametrize(("text", "message"), [
    ("endpoint_timeout: 60\n", r"gate.yaml:1: endpoint_timeout: unknown field \(did you mean 'endpoints_timeout'\?\)"),
    ("endpoints_timeout: soon\n", r"gate.yaml:1: endpoints_timeout: expected a positive, finite duration"),
    ("endpoints_timeout: -1\n", r"gate.yaml:1: endpoints_timeout: expected a positive, finite duration"),
    ("wait_full_timeout: maybe\n", r"gate.yaml:1: wait_full_timeout: expected true or false"),
    ("fail_fast: 1\n", r"gate.yaml:1: fail_fast: expected true or false, got 1"),
    ("probe: {mode: ssh}\n", r"gate.yaml:1: probe.mode: expected one of pod, exec"),
    ("probe: {imag: x}\n", r"gate.yaml:1: probe.imag: unknown field \(did you mean 'image'\?\)"),
    ("pairs:\n- from: deployment/a\n  to: b:80\n  expect: allow-ish\n", r"gate.yaml:4: pairs\[0\].expect: expected"),
    ("pairs:\n- from: deployment/a\n", r"gate.yaml:2: pairs\[0\]: missing 'to'"),
    ("pairs:\n- from: deploymint/a\n  to: b:80\n", r"gate.yaml:2: pairs\[0\].from: expected KIND/NAME"),
    ("pairs:\n- from: deployment/a\n  to: b\n", r"gate.yaml:3: pairs\[0\].to: expected SERVICE\[.NAMESPACE\]:PORT"),
    ("pairs:\n- from: deployment/a\n  to: b:80\n  http: health\n", r"gate.yaml:4: pairs\[0\].http: expected a path"),
    ("pairs: {a: 1}\n", r"gate.yaml:1: pairs: expected a list"),
    ("- 1\n", r"gate.yaml: : expected a mapping|gate.yaml:1: : expected a mapping"),
    ("a: [\n", r"gate.yaml:\d+: invalid YAML"),
])
def test_mistakes_are_one_line_with_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_config(config_file(tmp_path, text))
    assert "\n" not in str(error.value)


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "in_gate_yaml", "in_explain"), [
    ("deploy/api", Caller(None, ("Deployment", "api")), Caller(None, ("Deployment", "api"))),
    ("shop/sts/db", Caller("shop", ("StatefulSet", "db")), Caller("shop", ("StatefulSet", "db"))),
    ("shop/api", None, Caller("shop", ("*", "api"))),
    ("api", None, Caller(None, ("*", "api"))),
    ("/deploy/api", Caller(None, ("Deployment", "api")), Caller("", ("Deployment", "api"))),
    ("deploy/a/b/c", None, None),
    ("shop/service/api", None, None),
    ("", None, None),
])
def test_one_caller_grammar_for_gate_yaml_and_explain(text: str, in_gate_yaml: Caller | None,
                                                      in_explain: Caller | None) -> None:
    assert caller_from_text(text) == in_gate_yaml
    assert caller_from_text(text, any_kind=True) == in_explain


@pytest.mark.parametrize(("text", "in_gate_yaml", "in_explain"), [
    ("api:8080", Target("api", None, 8080), Target("api", None, 8080)),
    ("api.shop:http", Target("api", "shop", "http"), Target("api", "shop", "http")),
    ("shop/api:8080", Target("shop/api", None, 8080), Target("api", "shop", 8080)),
    ("api", None, None),
])
def test_one_target_grammar_for_gate_yaml_and_explain(text: str, in_gate_yaml: Target | None,
                                                      in_explain: Target | None) -> None:
    assert target_from_text(text) == in_gate_yaml
    assert target_from_text(text, slash_namespace=True) == in_explain


PAIR_TO = "pairs:\n- from: deployment/web\n  to: {TO}\n"
PAIR_FROM = "pairs:\n- from: {FROM}\n  to: api:80\n"


@pytest.mark.parametrize(("text", "message"), [
    (PAIR_TO.replace("{TO}", ".shop:80"), r"gate.yaml:3: pairs\[0\].to: expected a Service name .*got ''"),
    (PAIR_TO.replace("{TO}", "WEB.shop:80"), r"gate.yaml:3: pairs\[0\].to: expected a Service name .*got 'WEB'"),
    (PAIR_TO.replace("{TO}", "web.Bad_NS:80"), r"gate.yaml:3: pairs\[0\].to: expected a namespace name .*'Bad_NS'"),
    (PAIR_TO.replace("{TO}", "web.a.b:80"), r"pairs\[0\].to: expected a namespace name .*got 'a.b'"),
    (PAIR_FROM.replace("{FROM}", "deployment/web/extra/x"), r"gate.yaml:2: pairs\[0\].from: expected KIND/NAME"),
    (PAIR_FROM.replace("{FROM}", "deployment/Web"), r"gate.yaml:2: pairs\[0\].from: expected a name \(a DNS subdomain"),
    (PAIR_FROM.replace("{FROM}", "Shop/deployment/web"), r"pairs\[0\].from: expected a namespace name .*'Shop'"),
    (PAIR_FROM.replace("{FROM}", "{namespace: 5, labels: {app: web}}"),
     r"gate.yaml:2: pairs\[0\].from.namespace: expected a non-empty string, got 5"),
    (PAIR_FROM.replace("{FROM}", "{namespace: [a], labels: {app: web}}"),
     r"pairs\[0\].from.namespace: expected a non-empty string, got a list"),
    (PAIR_FROM.replace("{FROM}", "{namespace: shop_1, labels: {app: web}}"),
     r"pairs\[0\].from.namespace: expected a namespace name"),
    (PAIR_FROM.replace("{FROM}", "{workload: deployment/web, namespace: Shop}"),
     r"pairs\[0\].from.namespace: expected a namespace name"),
    (PAIR_FROM.replace("{FROM}", "{workload: shop/deployment/web, namespace: other}"),
     r"pairs\[0\].from.namespace: 'other' contradicts the workload's namespace 'shop'"),
    (PAIR_FROM.replace("{FROM}", "{labels: {'bad key!': web}}"),
     r"pairs\[0\].from.labels.bad key!: expected a label key"),
    (PAIR_FROM.replace("{FROM}", "{labels: {app: 'not a value'}}"),
     r"pairs\[0\].from.labels.app: expected a label value"),
    ("pairs:\n- from: deployment/web\n  to: api:80\n- from: deployment/web\n  to: api:80\n",
     r"gate.yaml:4: pairs\[1\]: deployment/web -> api:80 repeats pairs\[0\] \(.*gate.yaml:2\)"),
    ("pairs:\n- from: deployment/web\n  to: api:80\n- from: deployment/web\n  to: api:80\n  expect: deny\n",
     r"gate.yaml:4: pairs\[1\]: deployment/web -> api:80 contradicts pairs\[0\]"),
    ("required_labels: ['bad key!']\n", r"gate.yaml:1: required_labels\[0\]: expected a label key"),
    ("required_labels: [app, 'x/'] \n", r"required_labels\[1\]: expected a label key"),
])
def test_names_are_validated_as_the_api_server_would(tmp_path: Path, text: str, message: str) -> None:
    """A name the API server would refuse can match nothing: an error at its line (exit 2), never a silent miss."""
    with pytest.raises(ConfigError, match=message) as error:
        load_config(config_file(tmp_path, text))
    assert "\n" not in str(error.value) and error.value.exit_code == 2


@pytest.mark.parametrize("to", ["api.shop.svc:80", "api.shop.svc.cluster.local:80", "api.shop.svc.example.org:80"])
def test_a_target_written_as_a_cluster_dns_name_is_normalised(tmp_path: Path, to: str) -> None:
    [pair] = load_config(config_file(tmp_path, PAIR_TO.replace("{TO}", to))).pairs
    assert pair.target == Target("api", "shop", 80)


def test_the_same_caller_to_two_targets_is_not_a_duplicate(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, PAIR_TO.replace("{TO}", "api:80") + "- from: deployment/web\n"
                                                                                  "  to: api.other:80\n"))
    assert len(config.pairs) == 2


@pytest.mark.parametrize(("text", "message"), [
    # The schema quotes a value as written: `off` (YAML's false), not Python's False.
    ("rules:\n  service-selector: off\n",
     "gate.yaml:2: rules.service-selector: expected one of off, note, warning, error (quote 'off'), got off"),
    # gate.yaml's own settings hold no null: unset means left out, never a silent default.
    ("timeout: null\n", "gate.yaml:1: timeout: expected a positive, finite duration in seconds ('30', '30s', '2m'), "
                        "got null"),
    ("pairs:\n- from: {namespace: shop}\n  to: api:80\n", "gate.yaml:2: pairs[0].from: missing 'workload' or 'labels'"),
])
def test_gate_yaml_is_checked_by_the_manifests_schema_validator(tmp_path: Path, text: str, message: str) -> None:
    """gate.yaml is a gate.schema Map (config.GATE_YAML): one validator, one wording, for manifests and config."""
    with pytest.raises(ConfigError) as error:
        load_config(config_file(tmp_path, text))
    assert str(error.value).endswith(message)


def test_a_closed_manifest_mapping_names_the_nearest_field_as_gate_yaml_does(tmp_path: Path) -> None:
    """The one validator's unknown-field hint: a selector's `matchLabel` is a typo of matchLabels."""
    (tmp_path / "svc.yaml").write_text("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\n"
                                       "spec:\n  selector:\n    matchLabel: {app: web}\n")
    with pytest.raises(ManifestError) as error:
        load([str(tmp_path / "svc.yaml")])
    assert str(error.value) == f"{tmp_path}/svc.yaml:6: spec.selector.matchLabel: unknown field (did you mean " \
                               f"'matchLabels'?)"
