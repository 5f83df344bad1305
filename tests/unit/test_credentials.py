"""Credentials: typed as kubectl types them, got as kubectl gets them, and never printed.

A local API server on 127.0.0.1 records what reached it and, in the hostile case, answers every
request with a 500 whose message repeats the request's headers: whatever deploy-gate prints
of that answer must not carry the credential on into the CI log.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate import kubeconfig as kubeconfig_module
from gate.cli import main
from gate.escape import conceal, scrubbed
from tests.testing.api_server import RecordingApiServer

EXAMPLE = Path(__file__).parents[2] / "examples" / "incident-scenario-2"


def _serve(reflect: bool) -> Iterator[RecordingApiServer]:
    with RecordingApiServer(reflect) as server:
        yield server


@pytest.fixture
def hostile() -> Iterator[RecordingApiServer]:
    yield from _serve(reflect=True)


@pytest.fixture
def anonymous() -> Iterator[RecordingApiServer]:
    """A server that answers anyone, so that a run that went on without credentials would pass."""
    yield from _serve(reflect=False)


def write_kubeconfig(path: Path, server: str, user: dict, cluster: dict | None = None,
                     context: dict | None = None) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", **(context or {})}}]}))
    return path


def verify(tmp_path: Path, config: Path, *extra: str) -> tuple[int, str]:
    """Run verify with every report written; exit code and all it wrote (stdout, stderr, JUnit, metrics)."""
    junit, metrics = tmp_path / "report.xml", tmp_path / "gate.prom"
    result = CliRunner().invoke(main, ["verify", str(EXAMPLE), "--kubeconfig", str(config), "--junit", str(junit),
                                       "--metrics-file", str(metrics), "--rollout-timeout", "3",
                                       "--endpoints-timeout", "3", *extra])
    written = [result.stdout, result.stderr] + [f.read_text() for f in (junit, metrics) if f.exists()]
    return result.exit_code, "\n".join(written)


def plugin(tmp_path: Path, body: str) -> str:
    """An exec credential plugin: a Python script with `body`."""
    script = tmp_path / "plugin"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n")
    script.chmod(0o755)
    return str(script)


EXEC_API = "client.authentication.k8s.io/v1"
TOKEN_PLUGIN = (f"print(json.dumps({{'apiVersion': {EXEC_API!r}, 'kind': 'ExecCredential', "
                "'status': {'token': 'S3CRET-exec-' + os.environ['SUFFIX']}}))")


def credential_cases(tmp_path: Path, server: str) -> dict[str, tuple[str, Path]]:
    """For each credential field: the secret it holds and a kubeconfig that holds it."""
    token_file = tmp_path / "token"
    token_file.write_text("S3CRET-tokenfile-7\n")  # what `echo $T > f` writes
    cases = {
        "token": ("S3CRET-token-1", {"token": "S3CRET-token-1\n"}),
        "tokenFile": ("S3CRET-tokenfile-7", {"tokenFile": str(token_file)}),
        "password": ("S3CRET-password-2", {"username": "ci", "password": "S3CRET-password-2"}),
        "exec": ("S3CRET-exec-3", {"exec": {"apiVersion": EXEC_API, "command": plugin(tmp_path, TOKEN_PLUGIN),
                                            "env": [{"name": "SUFFIX", "value": "3"}]}}),
    }
    return {field: (secret, write_kubeconfig(tmp_path / f"{field}.yaml", server, user))
            for field, (secret, user) in cases.items()}


def test_no_credential_reaches_any_output_even_when_the_server_repeats_it(
        tmp_path: Path, hostile: RecordingApiServer) -> None:
    for field, (secret, config) in credential_cases(tmp_path, hostile.url).items():
        code, written = verify(tmp_path, config, "-o", "json")
        assert code == 3, (field, written)
        assert secret not in written, field
        assert "failed (500)" in written and "<redacted>" in written, field
        sent = (hostile.authorizations[-1] or "").partition(" ")[2]
        assert secret in (sent if field != "password" else base64.b64decode(sent).decode())  # it was sent
        assert sent not in written, field


def test_a_token_is_trimmed_as_client_go_trims_it(tmp_path: Path, anonymous: RecordingApiServer) -> None:
    cases = credential_cases(tmp_path, anonymous.url)
    for field in ("token", "tokenFile"):
        secret, config = cases[field]
        verify(tmp_path, config)
        assert anonymous.authorizations[-1] == f"Bearer {secret}", field


@pytest.mark.parametrize("server", [
    "http://ci:S3CRET-userinfo@127.0.0.1:9", "http://127.0.0.1:9/?access_token=S3CRET-query",
    "https://127.0.0.1:9"])
def test_a_server_url_is_printed_without_userinfo_or_query(tmp_path: Path, server: str) -> None:
    key = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nS3CRET-key\n-----END PRIVATE KEY-----\n").decode()
    config = write_kubeconfig(tmp_path / "config", server, {"token": "S3CRET-token-9", "client-key-data": key})
    code, written = verify(tmp_path, config)
    assert code == 3 and "cannot reach the API server" in written
    assert "S3CRET" not in written and key not in written


@pytest.mark.parametrize("value", ['"false"', '"no"', '"true"', "0", '""'])
def test_insecure_skip_tls_verify_must_be_a_boolean(tmp_path: Path, anonymous: RecordingApiServer, value: str) -> None:
    """kubectl refuses the file (cannot unmarshal string into bool); a truthy string must not turn verification off."""
    config = tmp_path / "config"
    config.write_text(f"""\
apiVersion: v1
kind: Config
current-context: c
clusters: [{{name: c, cluster: {{server: "{anonymous.url}", insecure-skip-tls-verify: {value}}}}}]
users: [{{name: u, user: {{token: t0k3n}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
""")
    code, written = verify(tmp_path, config)
    assert code == 2 and not anonymous.authorizations
    assert f"{config}: clusters[0].cluster.insecure-skip-tls-verify: expected a boolean (true or false, unquoted)" \
        in written


def test_a_boolean_insecure_skip_tls_verify_loads(tmp_path: Path, anonymous: RecordingApiServer) -> None:
    config = write_kubeconfig(tmp_path / "config", anonymous.url, {"token": "t0k3n"},
                              cluster={"insecure-skip-tls-verify": False})
    verify(tmp_path, config)
    assert anonymous.authorizations


@pytest.mark.parametrize(("namespace", "shown"), [
    ("../../../api/v1/secrets?x=", "expected a namespace name (a DNS label: a-z 0-9 -, at most 63), got "
                                   "'../../../api/v1/secrets?x='"),
    (5, "expected a string, got 5"), (["a"], "expected a string, got a list"), ("Shop", "got 'Shop'")])
def test_the_context_namespace_is_a_dns_label(tmp_path: Path, anonymous: RecordingApiServer, namespace: object,
                                              shown: str) -> None:
    config = write_kubeconfig(tmp_path / "config", anonymous.url, {"token": "t0k3n"}, context={"namespace": namespace})
    result = CliRunner().invoke(main, ["verify", str(EXAMPLE), "--kubeconfig", str(config)])
    assert result.exit_code == 2 and not anonymous.authorizations
    [line] = result.stderr.splitlines()
    assert f"{config}: contexts[0].context.namespace: " in line and shown in line


@pytest.mark.parametrize("user", [{"token": 12345}, {"password": ["S3CRET-password-5"], "username": "u"},
                                  {"client-key-data": {"S3CRET": 1}}])
def test_a_credential_of_the_wrong_type_is_named_by_its_type_only(tmp_path: Path, user: dict) -> None:
    config = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:9", user)
    result = CliRunner().invoke(main, ["verify", str(EXAMPLE), "--kubeconfig", str(config)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "users[0].user." in line and "expected a string, got a" in line
    assert "12345" not in line and "S3CRET" not in line


def test_a_removed_auth_provider_runs_nothing(tmp_path: Path, anonymous: RecordingApiServer) -> None:
    marker = tmp_path / "ran"
    config = write_kubeconfig(tmp_path / "config", anonymous.url, {"auth-provider": {"name": "gcp", "config": {
        "cmd-path": "touch", "cmd-args": str(marker), "token-key": "{.token}"}}})
    result = CliRunner().invoke(main, ["verify", str(EXAMPLE), "--kubeconfig", str(config)])
    assert result.exit_code == 2 and not marker.exists() and not anonymous.authorizations
    assert "gcp auth provider, which kubectl has removed" in result.stderr
    assert "gke-gcloud-auth-plugin" in result.stderr


@pytest.mark.parametrize(("body", "said"), [
    ("sys.stderr.write('\\x1b[2Jtoken=S3CRET-stderr expired\\n'); sys.exit(4)",
     "exited 4: \\x1b[2Jtoken=<redacted> expired"),
    ("print('not json')", "printed no ExecCredential JSON"),
    (f"print(json.dumps({{'apiVersion': {EXEC_API!r}, 'kind': 'ExecCredential', 'status': {{}}}}))",
     "gave neither a token nor a client certificate and key"),
    ("print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', "
     "'status': {'token': 'x'}}))", "answered apiVersion"),
])
def test_a_failing_exec_plugin_stops_the_run_before_any_request(tmp_path: Path, anonymous: RecordingApiServer,
                                                                 body: str, said: str) -> None:
    config = write_kubeconfig(tmp_path / "config", anonymous.url, {"exec": {
        "apiVersion": EXEC_API, "command": plugin(tmp_path, body)}})
    code, written = verify(tmp_path, config)
    assert code == 3 and not anonymous.authorizations
    [line] = [line for line in written.splitlines() if "getting credentials" in line][:1]
    assert said in line and "\x1b" not in written and "S3CRET" not in written


def test_a_missing_or_hanging_exec_plugin_is_exit_3(tmp_path: Path, anonymous: RecordingApiServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    missing = write_kubeconfig(tmp_path / "missing", anonymous.url, {"exec": {
        "apiVersion": EXEC_API, "command": str(tmp_path / "no-such-plugin"), "installHint": "brew install it"}})
    code, written = verify(tmp_path, missing)
    assert code == 3 and "executable not found (brew install it)" in written
    monkeypatch.setattr(kubeconfig_module, "EXEC_SECONDS", 1)
    hanging = write_kubeconfig(tmp_path / "hanging", anonymous.url, {"exec": {
        "apiVersion": EXEC_API, "command": plugin(tmp_path, "time.sleep(30)")}})
    code, written = verify(tmp_path, hanging)
    assert code == 3 and "did not answer within 1 s" in written and not anonymous.authorizations


def test_an_exec_plugins_token_is_sent(tmp_path: Path, anonymous: RecordingApiServer) -> None:
    secret, config = credential_cases(tmp_path, anonymous.url)["exec"]
    verify(tmp_path, config)
    assert anonymous.authorizations and set(anonymous.authorizations) == {f"Bearer {secret}"}


@pytest.mark.parametrize(("text", "shown"), [
    ("Invalid header value b'Bearer S3CRET-a\\n'", "Invalid header value b'Bearer <redacted>\\n'"),
    ("Authorization: Basic S3CRET-b==", "Authorization: Basic <redacted>"),
    ("https://ci:S3CRET-c@api.example:6443/x", "https://<redacted>@api.example:6443/x"),
    ("https://api.example/x?access_token=S3CRET-d&y=1 then", "https://api.example/x?<redacted> then"),
    ('{"token": "S3CRET-e"}', '{"token": "<redacted>"}'), ("password=S3CRET-f;", "password=<redacted>;"),
    ("-----BEGIN EC PRIVATE KEY-----\nS3CRET-g\n-----END EC PRIVATE KEY-----", "<redacted>"),
    ("users[0].user.token: expected a string, got a number", "users[0].user.token: expected a string, got a number"),
])
def test_messages_are_scrubbed_of_credentials_by_their_shape(text: str, shown: str) -> None:
    assert scrubbed(text) == shown


def test_a_credential_the_run_holds_is_scrubbed_wherever_it_stands() -> None:
    conceal("S3CRET-held-42\n")
    assert scrubbed("the plugin said S3CRET-held-42 twice: S3CRET-held-42") == \
        "the plugin said <redacted> twice: <redacted>"
