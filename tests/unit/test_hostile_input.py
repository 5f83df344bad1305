"""Malformed and hostile input, one row per case: never a silent pass, never an internal error.

Each row: an id, the files written under tmp_path (path → text or bytes), the
command line ({d} is tmp_path), stdin, the exit code, and a regex the first line
of the output must match (stderr for errors, else stdout). verify runs against
an API server that is not there (https://127.0.0.1:1): it must reject bad input
offline, before connecting, and say "cannot reach" (exit 3) for good input.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gate.cli import main

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]
current-context: c
"""
UNREACHABLE = ("--kubeconfig", "{d}/kubeconfig")
CLEAN_ENV = {"GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None, "KUBERNETES_SERVICE_HOST": None,
             "KUBECONFIG": None}

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {LABELS}
spec:
  selector:
    matchLabels: {MATCH}
  template:
    metadata:
      labels: {TEMPLATE}
    spec:
      containers:
        - name: main
          image: busybox:1.36
          ports:
            - name: http
              containerPort: {PORT}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {SELECTOR}
  ports:
    - port: {PORT}
      targetPort: {TARGET}
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector: {POD_SELECTOR}
  ingress:
    - from:
        - podSelector: {PEER}
      ports:
        - port: {PORT}
"""
GOOD = {"LABELS": "{app: web}", "MATCH": "{app: web}", "TEMPLATE": "{app: web}", "PORT": "8080",
        "SELECTOR": "{app: web}", "TARGET": "http", "POD_SELECTOR": "{matchLabels: {app: web}}",
        "PEER": "{matchLabels: {app: web}}"}


def fill(template: str, **values: str) -> str:
    text = template
    for key, value in {**GOOD, **values}.items():
        text = text.replace("{" + key + "}", value)
    return text


APP = fill(DEPLOYMENT) + "---\n" + fill(SERVICE, PORT="80")
CASES: list[Any] = []


@dataclass(frozen=True)
class Symlink:
    """A file entry that is a symbolic link to target ({d} is tmp_path)."""

    target: str


FIFO = object()  # a file entry that is a named pipe


def case(ident: str, files: dict[str, Any], args: tuple[str, ...], code: int, first: str,
         stdin: str | bytes | None = None, env: dict[str, str] | None = None) -> None:
    CASES.append(pytest.param(files, args, code, first, stdin, env or {}, id=ident))


def lint(ident: str, text: str | bytes, code: int, first: str) -> None:
    case(ident, {"m.yaml": text}, ("lint", "{d}/m.yaml"), code, first)


def lint_and_verify(ident: str, text: str, first: str) -> None:
    """A manifest error: exit 2 from lint, and from verify before it tries the (absent) API server."""
    lint(f"lint-{ident}", text, 2, first)
    case(f"verify-{ident}", {"m.yaml": text}, ("verify", "{d}/m.yaml", *UNREACHABLE), 2, first)


# --- never a silent pass: empty input -------------------------------------------------------------
for ident, text in [("empty-file", ""), ("comments-only", "# nothing\n# here\n"), ("two-separators", "---\n---\n"),
                    ("blank-lines", "\n\n  \n"), ("null-document", "null\n"), ("tilde-documents", "~\n---\n~\n"),
                    ("empty-list", "apiVersion: v1\nkind: List\nitems: []\n"),
                    ("list-null-items", "apiVersion: v1\nkind: List\nitems:\n")]:
    lint(ident, text, 2, r"m\.yaml: no Kubernetes object in it")
case("empty-dir", {"sub/.keep": ""}, ("lint", "{d}/sub"), 2, r"sub: no Kubernetes object in it")
case("dir-only-gate-yaml", {"sub/gate.yaml": "pairs: []\n"}, ("lint", "{d}/sub"), 2, "no Kubernetes object")
case("dir-only-values", {"sub/values.yaml": "replicas: 2\n"}, ("lint", "{d}/sub"), 2, "no Kubernetes object")
case("empty-stdin", {}, ("lint", "-f", "-"), 2, r"<stdin>: no Kubernetes object", stdin="")
case("comment-stdin", {}, ("lint", "-"), 2, r"<stdin>: no Kubernetes object", stdin="# x\n")
case("explain-empty", {"m.yaml": ""}, ("explain", "--from", "web", "--to", "web:80", "-f", "{d}/m.yaml"), 2,
     "no Kubernetes object")
case("verify-empty-file", {"m.yaml": ""}, ("verify", "{d}/m.yaml", *UNREACHABLE), 2, "no Kubernetes object")
case("stdin-twice", {}, ("lint", "-", "-f", "-"), 2, r"'-' \(stdin\) can be given only once", stdin="")

# --- apply output ---------------------------------------------------------------------------------
APPLY = ("verify", "--from-apply-output", "-", *UNREACHABLE)
for ident, text in [("empty", ""), ("blank", "\n \n"), ("comment", "# nothing applied\n"),
                    ("separators", "---\n---\n")]:
    case(f"apply-{ident}", {}, APPLY, 2, r"nothing to verify: the apply output holds no object", stdin=text)
for ident, text in [
    ("error-from-server", 'Error from server (Forbidden): deployments.apps "web" is forbidden\n'),
    ("error-line", "error: the path \"x.yaml\" does not exist\n"),
    ("partial", "deployment.apps/web configured\nError from server (Invalid): Service \"web\" is invalid\n"),
    ("error-prefix", "Error: unknown flag: --bogus\n"),
]:
    case(f"apply-{ident}", {}, APPLY, 2, r"the apply failed: (Error|error)", stdin=text)
case("apply-dry-run", {}, APPLY, 2, "dry run", stdin="deployment.apps/web configured (dry run)\n")
case("apply-missing-file", {}, ("verify", "--from-apply-output", "{d}/nope.txt", *UNREACHABLE), 2,
     r"--from-apply-output .*nope\.txt: no such file or directory")
case("apply-directory", {"sub/x": ""}, ("verify", "--from-apply-output", "{d}/sub", *UNREACHABLE), 2,
     r"--from-apply-output .*sub: cannot read")
case("apply-binary", {"out": b"\x89PNG\r\n\x1a\n\x00\xff"}, ("verify", "--from-apply-output", "{d}/out",
                                                              *UNREACHABLE), 2, "not a text file")
case("apply-binary-stdin", {}, APPLY, 2, "not a text file", stdin=b"\xff\xfe\x00garbage")
case("apply-nul", {}, APPLY, 2, "not a text file", stdin=b"deployment.apps/web\x00\n")
case("apply-scalar", {}, APPLY, 2, r"expected a Kubernetes object \(a mapping\)", stdin="just some words here\n")
case("apply-unknown-group", {}, APPLY, 2, "cannot tell the API group", stdin="widget.example.com/w\n")
case("apply-bad-yaml", {}, APPLY, 2, "invalid YAML", stdin="apiVersion: v1\nkind: [\n")
case("apply-bad-type", {}, APPLY, 2, r"spec\.selector: expected a mapping",
     stdin=fill(SERVICE, SELECTOR="app=web", PORT="80"))
case("apply-names-ok", {}, APPLY, 3, "cannot reach the API server", stdin="deployment.apps/web\nservice/web\n")
case("apply-default-output-ok", {}, APPLY, 3, "cannot reach the API server",
     stdin="deployment.apps/web created\nservice/web unchanged\n")
case("apply-yaml-ok", {}, APPLY, 3, "cannot reach the API server", stdin=APP)
case("apply-prune-ok", {}, APPLY, 3, "cannot reach the API server",
     stdin="deployment.apps/web configured\nservice/old pruned\n")
case("apply-only-pruned", {}, APPLY, 2, "nothing to verify: the apply only pruned objects",
     stdin="service/old pruned\nconfigmap/stale pruned\n")
case("apply-and-manifest-stdin", {}, ("verify", "-", "--from-apply-output", "-", *UNREACHABLE), 2,
     "only once", stdin="")

# --- identity: wrong type is not "missing" --------------------------------------------------------
IDENTITY = [
    ("apiversion-int", "apiVersion: 1\nkind: Service\nmetadata: {name: x}\n", r"apiVersion: expected .*got 1"),
    ("apiversion-list", "apiVersion: [v1]\nkind: Service\nmetadata: {name: x}\n", "apiVersion: expected .*a list"),
    ("kind-list", "apiVersion: v1\nkind: [Service]\nmetadata: {name: x}\n", "kind: expected .*got a list"),
    ("kind-int", "apiVersion: v1\nkind: 5\nmetadata: {name: x}\n", "kind: expected .*got 5"),
    ("kind-bool", "apiVersion: v1\nkind: yes\nmetadata: {name: x}\n", "kind: expected .*got yes"),
    ("name-int", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 123}\n", r"metadata\.name: expected a string, "
                                                                             "got 123"),
    ("name-list", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [a]}\n", r"metadata\.name: expected a string"),
    ("namespace-int", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 5}\n",
     r"metadata\.namespace: expected a string, got 5"),
    ("namespace-upper", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: Shop}\n",
     r"metadata\.namespace: expected a namespace name"),
    ("metadata-list", "apiVersion: v1\nkind: ConfigMap\nmetadata: [a]\n", "metadata: expected object metadata"),
    ("metadata-string", "apiVersion: v1\nkind: ConfigMap\nmetadata: web\n", "metadata: expected object metadata"),
    ("missing-kind", "apiVersion: v1\nmetadata: {name: a}\n", "missing kind"),
    ("missing-apiversion", "kind: Service\nmetadata: {name: a}\n", "missing apiVersion"),
    ("empty-kind", "apiVersion: v1\nkind: ''\nmetadata: {name: a}\n", "missing kind"),
    ("missing-name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n", "has no metadata.name"),
    ("no-metadata", "apiVersion: v1\nkind: ConfigMap\n", "has no metadata.name"),
    ("unknown-kind", "apiVersion: v1\nkind: Sevrice\nmetadata: {name: a}\n", "unknown kind 'Sevrice'"),
    ("unserved-version", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: a}\n", "not served"),
    ("top-level-list", "- a\n- b\n", r"expected a Kubernetes object \(a mapping\), found list"),
    ("top-level-scalar", "hello\n", r"expected a Kubernetes object \(a mapping\), found str"),
    ("top-level-int", "42\n", r"expected a Kubernetes object \(a mapping\), found int"),
    ("service-name-upper", fill(SERVICE, PORT="80").replace("name: web", "name: Web"),
     r"metadata\.name: expected a Service name"),
    ("service-name-digit", fill(SERVICE, PORT="80").replace("name: web", "name: 1web"),
     r"metadata\.name: expected a Service name"),
    ("deployment-name-underscore", fill(DEPLOYMENT).replace("name: web", "name: my_web"),
     r"metadata\.name: expected a name \(a DNS subdomain"),
    ("name-escape", fill(DEPLOYMENT).replace("name: web", 'name: "web\\e[2K\\rPASSED"'),
     r"metadata\.name: expected a name .*got 'web\\x1b\[2K\\rPASSED'"),
    ("name-newline", fill(DEPLOYMENT).replace("name: web", 'name: "web\\n::error::forged"'),
     r"metadata\.name: expected a name .*web\\n::error::forged"),
]
for ident, text, first in IDENTITY:
    lint_and_verify(ident, text, first)

# --- List -----------------------------------------------------------------------------------------
for ident, text, first in [
    ("list-items-mapping", "apiVersion: v1\nkind: List\nitems: {a: 1}\n", "items: expected a list of objects, got "
                                                                          "a mapping"),
    ("list-items-string", "apiVersion: v1\nkind: List\nitems: nope\n", "items: expected a list of objects, got 'nope'"),
    ("list-items-int", "apiVersion: v1\nkind: List\nitems: 3\n", "items: expected a list of objects, got 3"),
    ("list-item-scalar", "apiVersion: v1\nkind: List\nitems: [x]\n", r"expected a Kubernetes object \(a mapping\)"),
    ("list-item-bad-type", "apiVersion: v1\nkind: List\nitems:\n- " + fill(SERVICE, SELECTOR="[a]", PORT="80")
     .replace("\n", "\n  "), r"m\.yaml:\d+: spec\.selector: expected a mapping"),
    ("list-nested-list", "apiVersion: v1\nkind: DeploymentList\nitems:\n- apiVersion: v1\n  kind: List\n"
                         "  items: 5\n", "items: expected a list"),
]:
    lint_and_verify(ident, text, first)

# --- labels, selectors and matchLabels: strings only ----------------------------------------------
BAD_LABEL_VALUES = [
    ("int", "2", r"expected a string, got 2 \(quote it"),
    ("yes", "yes", r"expected a string, got yes \(quote it"),
    ("on", "on", r"expected a string, got on"),
    ("null", "null", r"expected a string, got null"),
    ("tilde", "~", r"expected a string, got ~"),
    ("float", "1.5", r"expected a string, got 1\.5"),
    ("mapping", "{a: b}", r"expected a string, got a mapping"),
    ("list", "[a, b]", r"expected a string, got a list"),
]
LABEL_PLACES = [
    ("metadata", lambda v: fill(DEPLOYMENT, LABELS="{ver: " + v + "}"), r"metadata\.labels\.ver"),
    ("template", lambda v: fill(DEPLOYMENT, TEMPLATE="{app: web, ver: " + v + "}"),
     r"spec\.template\.metadata\.labels\.ver"),
    ("match-labels", lambda v: fill(DEPLOYMENT, MATCH="{ver: " + v + "}"), r"spec\.selector\.matchLabels\.ver"),
    ("service-selector", lambda v: fill(SERVICE, PORT="80", SELECTOR="{ver: " + v + "}"), r"spec\.selector\.ver"),
    ("policy-selector", lambda v: fill(POLICY, POD_SELECTOR="{matchLabels: {ver: " + v + "}}"),
     r"spec\.podSelector\.matchLabels\.ver"),
]
for place, make, path in LABEL_PLACES:
    for ident, value, message in BAD_LABEL_VALUES:
        lint(f"label-{place}-{ident}", make(value), 2, rf"m\.yaml:\d+: {path}: {message}")
for ident, key, message in [("key-int", "2", "expected a label key"), ("key-space", "'a b'", "expected a label key"),
                            ("key-bad-prefix", "'Foo_/x'", "expected a label key"),
                            ("key-null", "null", "expected a label key")]:
    lint(f"label-{ident}", fill(DEPLOYMENT, TEMPLATE="{" + key + ": web}"), 2, rf"labels.*: {message}")
for place, make, path in LABEL_PLACES[1:4]:
    case(f"verify-label-{place}", {"m.yaml": make("2")}, ("verify", "{d}/m.yaml", *UNREACHABLE), 2,
         rf"{path}: expected a string, got 2")

# --- selectors of the wrong shape -----------------------------------------------------------------
for ident, text, first in [
    ("service-selector-string", fill(SERVICE, PORT="80", SELECTOR="app=web"), r"spec\.selector: expected a mapping"),
    ("service-selector-list", fill(SERVICE, PORT="80", SELECTOR="[app]"), r"spec\.selector: expected a mapping"),
    ("deployment-selector-string", fill(DEPLOYMENT).replace("selector:\n    matchLabels: {app: web}",
                                                            "selector: app=web"),
     r"spec\.selector: expected a label selector"),
    ("match-labels-list", fill(DEPLOYMENT, MATCH="[app]"), r"spec\.selector\.matchLabels: expected a mapping"),
    ("match-label-typo", fill(DEPLOYMENT).replace("matchLabels:", "matchLabel:"),
     r"spec\.selector\.matchLabel: unknown field"),
    ("match-expressions-mapping", fill(DEPLOYMENT).replace("matchLabels: {app: web}",
                                                           "matchExpressions: {key: app}"),
     r"spec\.selector\.matchExpressions: expected a list"),
    ("expression-operator", fill(DEPLOYMENT).replace("matchLabels: {app: web}",
                                                     "matchExpressions: [{key: app, operator: Equals, values: [web]}]"),
     r"matchExpressions\[0\]\.operator: expected In, NotIn, Exists or DoesNotExist, got 'Equals'"),
    ("expression-no-values", fill(DEPLOYMENT).replace("matchLabels: {app: web}",
                                                      "matchExpressions: [{key: app, operator: In}]"),
     r"matchExpressions\[0\]\.values: operator In needs at least one value"),
    ("expression-exists-values", fill(DEPLOYMENT).replace(
        "matchLabels: {app: web}", "matchExpressions: [{key: app, operator: Exists, values: [a]}]"),
     "operator Exists takes no values"),
    ("expression-values-string", fill(DEPLOYMENT).replace(
        "matchLabels: {app: web}", "matchExpressions: [{key: app, operator: In, values: web}]"),
     r"values: expected a list of strings, got 'web'"),
    ("expression-value-int", fill(DEPLOYMENT).replace(
        "matchLabels: {app: web}", "matchExpressions: [{key: app, operator: In, values: [1]}]"),
     r"values\[0\]: expected a string, got 1"),
    ("expression-missing-key", fill(DEPLOYMENT).replace(
        "matchLabels: {app: web}", "matchExpressions: [{operator: Exists}]"), r"matchExpressions\[0\]\.key: missing"),
    ("policy-pod-selector-string", fill(POLICY, POD_SELECTOR="app=web"), r"spec\.podSelector: expected a label"),
    ("policy-pod-selector-list", fill(POLICY, POD_SELECTOR="[a]"), r"spec\.podSelector: expected a label"),
    ("policy-peer-string", fill(POLICY, PEER="app=web"), r"spec\.ingress\[0\]\.from\[0\]\.podSelector: expected"),
    ("rc-selector-string", "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\n"
                           "spec: {selector: app=web}\n", r"spec\.selector: expected a mapping"),
]:
    lint_and_verify(ident, text, first)

# --- ports: numbers in range, names valid ---------------------------------------------------------
BAD_PORTS = [
    ("quoted", '"8080"', r"got '8080'"),
    ("zero", "0", "got 0"),
    ("negative", "-1", "got -1"),
    ("too-big", "65536", "got 65536"),
    ("huge", "99999", "got 99999"),
    ("float", "80.5", r"got 80\.5"),
    ("bool", "true", "got true"),
    ("list", "[80]", "got a list"),
    ("mapping", "{a: 1}", "got a mapping"),
    ("placeholder-bare", "PORT", "unfilled placeholder 'PORT'"),
    ("placeholder-env", '"${PORT}"', r"unfilled placeholder '\$\{PORT\}'"),
    ("placeholder-helm", '"{{ .Values.port }}"', r"unfilled placeholder '\{\{ \.Values\.port \}\}'"),
    ("superscript", '"²"', "got '²'"),
]
for ident, value, message in BAD_PORTS:
    lint(f"container-port-{ident}", fill(DEPLOYMENT, PORT=value), 2,
         rf"spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: (expected a port number.*)?{message}")
    lint(f"service-port-{ident}", fill(SERVICE, PORT=value), 2, rf"spec\.ports\[0\]\.port: .*{message}")
QUOTED_HINT = r"\(a number in quotes is neither: write {field}: {number} without quotes\)$"
for ident, value, message in [("negative", "-1", "got -1"), ("too-big", "65536", "got 65536"),
                              ("quoted-number", '"8080"', QUOTED_HINT.format(field="targetPort", number=8080)),
                              ("quoted-zero", '"0"', QUOTED_HINT.format(field="targetPort", number=0)),
                              ("float", "1.5", r"got 1\.5"),
                              ("bad-name", "HTTP_PORT", "unfilled placeholder|got 'HTTP_PORT'"),
                              ("long-name", "averyveryverylongname", "got 'averyveryverylongname'"),
                              ("double-dash", "my--port", "got 'my--port'"), ("list", "[http]", "got a list")]:
    lint(f"target-port-{ident}", fill(SERVICE, PORT="80", TARGET=value), 2,
         rf"spec\.ports\[0\]\.targetPort: .*{message}")
for ident, value, message in [("zero", "0", "got 0"), ("too-big", "70000", "got 70000"), ("list", "[80]", "got a list"),
                              ("quoted", '"80"', QUOTED_HINT.format(field="port", number=80))]:
    lint(f"policy-port-{ident}", fill(POLICY, PORT=value), 2, rf"spec\.ingress\[0\]\.ports\[0\]\.port: .*{message}")
# Probe and lifecycle handler ports: the API server's ValidatePortNumOrName, as for targetPort (same messages).
CONTAINER = r"spec\.template\.spec\.containers\[0\]"
PORT_NAME_EXPECTED = r"expected a port name \(IANA_SVC_NAME: at most 15 of a-z 0-9 -, with a letter\), got "
for ident, field, value, where, message in [
    ("quoted-number", "readinessProbe", '{httpGet: {path: /, port: "8080"}}', "readinessProbe.httpGet.port",
     "got '8080' " + QUOTED_HINT.format(field="port", number=8080)),
    ("quoted-zero", "readinessProbe", '{httpGet: {path: /, port: "0"}}', "readinessProbe.httpGet.port",
     r"got '0' \(a number in quotes is neither\)$"),
    ("upper-case", "livenessProbe", "{tcpSocket: {port: HTTP}}", "livenessProbe.tcpSocket.port",
     PORT_NAME_EXPECTED + "'HTTP'"),
    ("underscore", "startupProbe", "{httpGet: {path: /, port: http_admin}}", "startupProbe.httpGet.port",
     PORT_NAME_EXPECTED + "'http_admin'"),
    ("sixteen", "readinessProbe", "{tcpSocket: {port: abcdefghijklmnop}}", "readinessProbe.tcpSocket.port",
     PORT_NAME_EXPECTED + "'abcdefghijklmnop'"),
    ("placeholder-env", "readinessProbe", '{httpGet: {path: /, port: "${PORT}"}}', "readinessProbe.httpGet.port",
     r"unfilled placeholder '\$\{PORT\}'"),
    ("placeholder-helm", "readinessProbe", '{httpGet: {path: /, port: "{{ .Values.port }}"}}',
     "readinessProbe.httpGet.port", r"unfilled placeholder '\{\{ \.Values\.port \}\}'"),
    ("placeholder-bare", "readinessProbe", "{httpGet: {path: /, port: PORT}}", "readinessProbe.httpGet.port",
     PORT_NAME_EXPECTED + "'PORT'"),
    ("zero", "livenessProbe", "{httpGet: {path: /, port: 0}}", "livenessProbe.httpGet.port",
     r"expected a port number \(1-65535\), got 0"),
    ("missing", "livenessProbe", "{httpGet: {path: /}}", "livenessProbe.httpGet.port",
     "missing; an HTTP GET action needs port"),
    ("grpc-name", "readinessProbe", "{grpc: {port: grpc}}", "readinessProbe.grpc.port",
     r"expected a port number \(1-65535\), got 'grpc'"),
    ("grpc-too-big", "readinessProbe", "{grpc: {port: 65536}}", "readinessProbe.grpc.port", "got 65536"),
    ("handler-string", "readinessProbe", "{httpGet: /ready}", "readinessProbe.httpGet",
     "expected an HTTP GET action, got '/ready'"),
    ("pre-stop-quoted", "lifecycle", '{preStop: {httpGet: {path: /, port: "8080"}}}', "lifecycle.preStop.httpGet.port",
     QUOTED_HINT.format(field="port", number=8080)),
    ("post-start-upper", "lifecycle", "{postStart: {tcpSocket: {port: HTTP}}}", "lifecycle.postStart.tcpSocket.port",
     PORT_NAME_EXPECTED + "'HTTP'"),
]:
    lint(f"probe-port-{ident}", fill(DEPLOYMENT) + f"          {field}: {value}\n", 2,
         rf"{CONTAINER}\.{re.escape(where)}: .*{message}")
for ident, text, first in [
    ("ports-mapping", fill(SERVICE, PORT="80").replace("ports:\n    - port: 80\n      targetPort: http",
                                                       "ports: {http: 80}"), r"spec\.ports: expected a list"),
    ("ports-strings", fill(SERVICE, PORT="80").replace("ports:\n    - port: 80\n      targetPort: http",
                                                       "ports: ['80', '443']"),
     r"spec\.ports\[0\]: expected a Service port"),
    ("ports-ints", fill(SERVICE, PORT="80").replace("ports:\n    - port: 80\n      targetPort: http",
                                                    "ports: [80]"), r"spec\.ports\[0\]: expected a Service port"),
    ("service-port-missing", fill(SERVICE, PORT="80").replace("- port: 80\n      targetPort: http",
                                                              "- targetPort: http"),
     r"spec\.ports\[0\]\.port: missing"),
    ("service-protocol", fill(SERVICE, PORT="80") + "      protocol: tcp\n", r"protocol: expected TCP, UDP or SCTP"),
    ("service-type", fill(SERVICE, PORT="80").replace("spec:\n", "spec:\n  type: Internal\n"),
     r"spec\.type: expected ClusterIP"),
    ("node-port-range", fill(SERVICE, PORT="80") + "      nodePort: 99999\n", r"nodePort: expected a port number"),
    ("service-port-name", fill(SERVICE, PORT="80") + "      name: HTTP\n", r"ports\[0\]\.name: expected a port name"),
    ("container-ports-mapping", fill(DEPLOYMENT).replace(
        "ports:\n            - name: http\n              containerPort: 8080", "ports: {http: 8080}"),
     r"containers\[0\]\.ports: expected a list"),
    ("container-ports-ints", fill(DEPLOYMENT).replace(
        "ports:\n            - name: http\n              containerPort: 8080", "ports: [8080]"),
     r"containers\[0\]\.ports\[0\]: expected a container port"),
    ("container-port-missing", fill(DEPLOYMENT).replace("              containerPort: 8080\n", ""),
     r"ports\[0\]\.containerPort: missing"),
    ("container-port-name-upper", fill(DEPLOYMENT).replace("- name: http", "- name: HTTP"),
     r"ports\[0\]\.name: expected a port name"),
    ("container-protocol", fill(DEPLOYMENT) + "              protocol: HTTP\n",
     r"ports\[0\]\.protocol: expected TCP, UDP or SCTP, got 'HTTP'"),
    ("policy-ports-mapping", fill(POLICY).replace("ports:\n        - port: 8080", "ports: {port: 8080}"),
     r"ingress\[0\]\.ports: expected a list"),
    ("policy-port-list-entry", fill(POLICY).replace("- port: 8080", "- [8080]"),
     r"ingress\[0\]\.ports\[0\]: expected a policy port"),
    ("policy-end-port-below", fill(POLICY) + "          endPort: 80\n", r"endPort: must be at least port \(8080\)"),
    ("policy-end-port-named", fill(POLICY, PORT="http") + "          endPort: 9000\n", "endPort needs a numeric port"),
    ("policy-protocol", fill(POLICY) + "          protocol: ICMP\n", "protocol: expected TCP, UDP or SCTP"),
]:
    lint_and_verify(ident, text, first)

# --- pod templates and policies of the wrong shape ------------------------------------------------
for ident, text, first in [
    ("template-list", fill(DEPLOYMENT).split("  template:")[0] + "  template: [1, 2]\n",
     r"spec\.template: expected a pod template, got a list"),
    ("template-string", fill(DEPLOYMENT).split("  template:")[0] + "  template: nope\n",
     r"spec\.template: expected a pod template, got 'nope'"),
    ("spec-list", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: [a]\n",
     r"spec: expected a mapping, got a list"),
    ("template-spec-list", fill(DEPLOYMENT).split("    spec:")[0] + "    spec: [a]\n",
     r"spec\.template\.spec: expected a pod spec, got a list"),
    ("template-metadata-string", fill(DEPLOYMENT).replace("    metadata:\n      labels: {app: web}\n",
                                                          "    metadata: web\n"),
     r"spec\.template\.metadata: expected object metadata"),
    ("containers-string", fill(DEPLOYMENT).split("      containers:")[0] + "      containers: nope\n",
     r"spec\.template\.spec\.containers: expected a list of containers, got 'nope'"),
    ("containers-mapping", fill(DEPLOYMENT).split("      containers:")[0] + "      containers: {name: a}\n",
     r"containers: expected a list of containers, got a mapping"),
    ("container-string", fill(DEPLOYMENT).split("      containers:")[0] + "      containers: [main]\n",
     r"containers\[0\]: expected a container, got 'main'"),
    ("init-containers-string", fill(DEPLOYMENT) + "      initContainers: nope\n",
     r"initContainers: expected a list of containers"),
    ("cronjob-job-template-list", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\n"
                                  "spec: {schedule: '* * * * *', jobTemplate: [1]}\n",
     r"spec\.jobTemplate: expected a mapping, got a list"),
    ("pod-spec-string", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: nope\n",
     r"spec: expected a pod spec, got 'nope'"),
    ("pod-containers-int", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n",
     r"spec\.containers: expected a list of containers, got 3"),
    ("statefulset-labels", fill(DEPLOYMENT, TEMPLATE="{app: 1}").replace("kind: Deployment", "kind: StatefulSet"),
     r"spec\.template\.metadata\.labels\.app: expected a string, got 1"),
    ("job-template-list", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: [1]}\n",
     r"spec\.template: expected a pod template"),
    ("service-spec-string", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: web\n",
     r"spec: expected a Service spec, got 'web'"),
    ("policy-types-string", fill(POLICY).replace("spec:\n", "spec:\n  policyTypes: Ingress\n"),
     r"spec\.policyTypes: expected a list"),
    ("policy-types-bogus", fill(POLICY).replace("spec:\n", "spec:\n  policyTypes: [Inbound]\n"),
     r"spec\.policyTypes\[0\]: expected Ingress or Egress"),
    ("policy-ingress-mapping", fill(POLICY).split("  ingress:")[0] + "  ingress: {from: []}\n",
     r"spec\.ingress: expected a list of rules"),
    ("policy-from-mapping", fill(POLICY).split("  ingress:")[0] + "  ingress:\n    - from: {podSelector: {}}\n",
     r"spec\.ingress\[0\]\.from: expected a list of peers"),
    ("policy-egress-to-string", fill(POLICY) + "  egress:\n    - to: everyone\n",
     r"spec\.egress\[0\]\.to: expected a list of peers"),
    ("policy-ipblock-cidr", fill(POLICY).split("  ingress:")[0] + "  ingress:\n    - from: [{ipBlock: {cidr: "
                                                                  "10.0.0.300/8}}]\n",
     r"ipBlock\.cidr: expected a CIDR"),
    ("policy-ipblock-except", fill(POLICY).split("  ingress:")[0] + "  ingress:\n    - from: [{ipBlock: {cidr: "
                                                                    "10.0.0.0/8, except: [nope]}}]\n",
     r"ipBlock\.except\[0\]: expected a CIDR"),
    ("policy-ipblock-no-cidr", fill(POLICY).split("  ingress:")[0] + "  ingress:\n    - from: [{ipBlock: {}}]\n",
     r"ipBlock\.cidr: missing"),
    ("crd-names-list", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: "
                       "w.example.com}\nspec: {group: example.com, names: [Widget]}\n",
     r"spec\.names: expected a mapping"),
    ("crd-spec-list", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: "
                      "w.example.com}\nspec: [1]\n", r"spec: expected a CustomResourceDefinition spec"),
]:
    lint_and_verify(ident, text, first)

# --- references other rules follow: Ingress, routes, HPA, volumes and env --------------------------
INGRESS = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: shop}\nspec: "
ROUTE = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: "
HPA = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h, namespace: shop}\nspec: "
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: "
for ident, text, first in [
    ("ingress-rules-int", INGRESS + "{rules: 5}\n", r"spec\.rules: expected a list of rules, got 5"),
    ("ingress-default-backend-list", INGRESS + "{defaultBackend: [1]}\n", r"spec\.defaultBackend: expected an "
                                                                         "Ingress backend"),
    ("ingress-service-name-int", INGRESS + "{rules: [{http: {paths: [{backend: {service: {name: 5}}}]}}]}\n",
     r"backend\.service\.name: expected a string, got 5"),
    ("ingress-port-number-string", INGRESS + "{rules: [{http: {paths: [{backend: {service: {name: web, port: "
                                             "{number: http}}}}]}}]}\n", r"port\.number: expected a port number"),
    ("ingress-port-number-range", INGRESS + "{defaultBackend: {service: {name: web, port: {number: 0}}}}\n",
     r"defaultBackend\.service\.port\.number: expected a port number \(1-65535\), got 0"),
    ("ingress-path-int", INGRESS + "{rules: [{http: {paths: [1]}}]}\n", r"paths\[0\]: expected an Ingress path"),
    ("route-rules-mapping", ROUTE + "{rules: {a: 1}}\n", r"spec\.rules: expected a list of rules, got a mapping"),
    ("route-backend-name-int", ROUTE + "{rules: [{backendRefs: [{name: 5}]}]}\n",
     r"backendRefs\[0\]\.name: expected a string, got 5"),
    ("route-backend-port-range", ROUTE + "{rules: [{backendRefs: [{name: web, port: 70000}]}]}\n",
     r"backendRefs\[0\]\.port: expected a port number"),
    ("hpa-target-int", HPA + "{scaleTargetRef: 5}\n", r"spec\.scaleTargetRef: expected a target reference"),
    ("hpa-target-name-list", HPA + "{scaleTargetRef: {kind: Deployment, name: [x]}}\n",
     r"scaleTargetRef\.name: expected a string, got a list"),
    ("hpa-target-missing-name", HPA + "{scaleTargetRef: {kind: Deployment}}\n", r"scaleTargetRef\.name: missing"),
    ("pod-volumes-int", POD + "{containers: [{name: c}], volumes: 5}\n", r"spec\.volumes: expected a list of volumes"),
    ("pod-configmap-volume-list", POD + "{containers: [{name: c}], volumes: [{name: v, configMap: [a]}]}\n",
     r"volumes\[0\]\.configMap: expected a ConfigMap volume"),
    ("pod-secret-volume-name-int", POD + "{containers: [{name: c}], volumes: [{name: v, secret: {secretName: 5}}]}\n",
     r"volumes\[0\]\.secret\.secretName: expected a string, got 5"),
    ("pod-projected-sources-mapping", POD + "{containers: [{name: c}], volumes: [{name: v, projected: {sources: "
                                            "{a: 1}}}]}\n", r"projected\.sources: expected a list of sources"),
    ("pod-env-int", POD + "{containers: [{name: c, env: 5}]}\n", r"containers\[0\]\.env: expected a list"),
    ("pod-env-value-from-int", POD + "{containers: [{name: c, env: [{name: A, valueFrom: 5}]}]}\n",
     r"env\[0\]\.valueFrom: expected a variable source, got 5"),
    ("pod-config-map-key-ref-name", POD + "{containers: [{name: c, env: [{name: A, valueFrom: {configMapKeyRef: "
                                          "{name: [1], key: k}}}]}]}\n", r"configMapKeyRef\.name: expected a string"),
    ("pod-env-from-string", POD + "{containers: [{name: c, envFrom: [{configMapRef: x}]}]}\n",
     r"envFrom\[0\]\.configMapRef: expected a ConfigMap reference"),
    ("pod-service-account-int", POD + "{containers: [{name: c}], serviceAccountName: 5}\n",
     r"spec\.serviceAccountName: expected a string, got 5"),
    ("pod-image-pull-secrets-string", POD + "{containers: [{name: c}], imagePullSecrets: regcred}\n",
     r"spec\.imagePullSecrets: expected a list of Secret references"),
]:
    lint_and_verify(ident, text, first)

# --- placeholders left by templating --------------------------------------------------------------
for ident, text, first in [
    ("helm-unquoted", fill(DEPLOYMENT, PORT="{{ .Values.port }}"),
     r"invalid YAML: unrendered template '\{\{ \.Values\.port \}\}'"),
    ("helm-name", fill(DEPLOYMENT).replace("name: web\n  namespace", "name: '{{ .Release.Name }}'\n  namespace"),
     r"metadata\.name: unfilled placeholder '\{\{ \.Release\.Name \}\}'"),
    ("env-name", fill(SERVICE, PORT="80").replace("name: web", "name: ${APP_NAME}"),
     r"metadata\.name: unfilled placeholder '\$\{APP_NAME\}'"),
    ("env-namespace", fill(SERVICE, PORT="80").replace("namespace: shop", "namespace: $NAMESPACE"),
     r"metadata\.namespace: unfilled placeholder '\$NAMESPACE'"),
    ("dunder-port", fill(SERVICE, PORT="__PORT__"), r"spec\.ports\[0\]\.port: unfilled placeholder '__PORT__'"),
    ("angle-target", fill(SERVICE, PORT="80", TARGET="'<port>'"), r"targetPort: unfilled placeholder '<port>'"),
]:
    lint_and_verify(ident, text, first)

# --- YAML itself ----------------------------------------------------------------------------------
BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
               for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True))
for ident, text, first in [
    ("alias-bomb", BOMB, r"m\.yaml:1: YAML aliases expand this document to [\d,]+ nodes .*alias bomb"),
    ("alias-bomb-in-labels", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" +
     "".join("  " + line + "\n" for line in BOMB.splitlines()), "alias bomb"),
    ("merge-bomb", "a: &a {x: 1, y: 2, z: 3}\n" + "".join(
        f"{n}: &{n} {{<<: [{', '.join([f'*{p}'] * 9)}]}}\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
     "alias bomb"),
    ("alias-cycle", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {self: *d}\n",
     "an alias refers to a node that contains it"),
    ("undefined-alias", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: *nope}\n", "invalid YAML: found undefined "
                                                                                      "alias"),
    ("duplicate-key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nmetadata: {name: b}\n",
     r"m\.yaml:4: invalid YAML: duplicate key 'metadata' \(first at line 3\)"),
    ("duplicate-label", fill(DEPLOYMENT, TEMPLATE="{app: web, app: api}"), "duplicate key 'app'"),
    ("tab-indent", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n", "invalid YAML"),
    ("unclosed-flow", "apiVersion: v1\nkind: Service\nmetadata: {name: [x\n", "invalid YAML"),
    ("python-tag", "apiVersion: v1\nkind: ConfigMap\nmetadata: !!python/object:os.system {name: a}\n",
     "invalid YAML: could not determine a constructor"),
    # PyYAML 6.0.4 stops the parse itself; 6.0.3 (the floor) parses on into the depth check
    ("deep-nesting", "[" * 2000 + "]" * 2000 + "\n", "invalid YAML|nested too deeply"),
    ("deep-but-parsable", "[" * 500 + "]" * 500 + "\n", r"expected a Kubernetes object \(a mapping\), found list|"
                                                         "nested too deeply"),
    ("unhashable-key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {[a]: b}\n", "invalid YAML"),
    ("binary-tag-name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: !!binary aGk=}\n",
     r"metadata\.name: expected a string"),
]:
    lint_and_verify(ident, text, first)
lint("latin1-bytes", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"), 2,
     r"m\.yaml: not a text file")
lint("nul-bytes", b"apiVersion: v1\x00\nkind: ConfigMap\n", 2, r"m\.yaml: not a text file \(it holds NUL bytes\)")
lint("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 2, "not a text file")
lint("control-char", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\x07}\n", 2, "invalid YAML")
lint("bom-is-fine", "\ufeff" + APP, 0, "PASSED")
lint("crd-with-equals-value", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: "
     "{name: w.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget}\n  versions:\n  - name: v1\n"
     "    schema:\n      openAPIV3Schema:\n        properties:\n          op:\n            enum:\n"
     "            - =\n            - '!='\n", 0, "PASSED")
lint("valid-app-passes", APP, 0, "PASSED")
case("missing-file", {}, ("lint", "{d}/nope.yaml"), 2, r"nope\.yaml: no such file or directory")
case("file-name-injection", {"a\nb.yaml": "apiVersion: v1\nkind: [\n"}, ("lint", "{d}"), 2,
     r"a\\nb\.yaml:\d+: invalid YAML")

# --- scalars as kubectl's decoder reads them (go-yaml v2), explicit tags --------------------------------
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    x: {VALUE}\n"
for ident, tagged, message in [("int-abc", "!!int abc", "cannot read 'abc' as !!int"),
                               ("bool-maybe", "!!bool maybe", "cannot read 'maybe' as !!bool"),
                               ("timestamp-hex", "!!timestamp 0x1F", "cannot read '0x1F' as !!timestamp"),
                               ("float-empty", '!!float ""', "cannot read '' as !!float"),
                               ("map-on-list", "!!map [a]", "tag !!map does not fit a list"),
                               ("seq-on-scalar", "!!seq a", "tag !!seq does not fit a scalar"),
                               ("int-on-mapping", "!!int {a: 1}", "tag !!int needs a scalar"),
                               ("set", "!!set {a: null}", "tag !!set is not part of Kubernetes YAML"),
                               ("set-empty", "!!set", "tag !!set is not part of Kubernetes YAML"),
                               ("omap", "!!omap [a: 1]", "tag !!omap"),
                               ("huge-int", "!!int " + "1" * 5000, r"cannot read '1{37}\.\.\.' as !!int")]:
    lint_and_verify(f"tag-{ident}", CONFIGMAP.replace("{VALUE}", tagged), rf"m\.yaml:6: invalid YAML: {message}")
for ident, value in [("timestamp", "!!timestamp 2026-11-27"), ("float-of-int", "!!float 3"), ("hex", "!!int 0x1F")]:
    lint(f"tag-{ident}-ok", CONFIGMAP.replace("{VALUE}", value), 0, "PASSED")
# Over 4,300 digits (Python's int-string limit): go-yaml reads a number too large for 64 bits as text.
lint("huge-int-annotation-is-text", CONFIGMAP.replace("{VALUE}", "1" * 5000), 0, "PASSED")
lint("huge-int-port", fill(DEPLOYMENT, PORT="1" * 5000), 2, r"containerPort: expected a port number \(1-65535\), "
                                                              r"got '1{77}\.\.\.'")
lint("huge-float-port", fill(DEPLOYMENT, PORT="1" * 400 + ".5"), 2, "containerPort: expected a port number")
for ident, port, code, first in [("base-60", "2:14:20", 2, r"containerPort: expected a port number .*got '2:14:20'"),
                                 ("octal-0o", "0o17620", 0, "PASSED"), ("hex", "0x1F90", 0, "PASSED"),
                                 ("whole-float", "8080.0", 0, "PASSED"), ("exponent", "8.08e3", 0, "PASSED"),
                                 ("y", "y", 2, "containerPort: expected a port number .*got y"),
                                 ("inf", ".inf", 2, r"containerPort: expected a port number .*got \.inf")]:
    lint(f"container-port-{ident}", fill(DEPLOYMENT, PORT=port), code, first)
lint("label-y-is-a-boolean", fill(DEPLOYMENT, TEMPLATE="{app: web, canary: y}"), 2,
     r"labels\.canary: expected a string, got y \(quote it")
lint("label-timestamp-is-text", fill(DEPLOYMENT, TEMPLATE="{app: web, day: 2026-11-27}"), 0, "PASSED")
lint("label-base-60-is-text", fill(DEPLOYMENT, TEMPLATE="{app: web, at: 2:14:20}"), 2,
     r"labels\.at: expected a label value .*got '2:14:20'")

# --- strict JSON for .json files ------------------------------------------------------------------
JSON_OBJECT = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}REST}'
for ident, rest, message in [("trailing-comma", ",", r"a\.json:1: invalid JSON"),
                             ("comment", ',\n# note\n"data": {}', r"a\.json:2: invalid JSON"),
                             ("single-quotes", ", 'data': {}", r"a\.json:1: invalid JSON"),
                             ("nan", ', "data": {"x": NaN}', "invalid JSON: NaN is not JSON"),
                             ("duplicate-key", ', "kind": "Secret"', "invalid JSON: duplicate key 'kind'"),
                             ("two-values", "}\n{", r"a\.json:2: invalid JSON: more than one value")]:
    case(f"json-{ident}", {"a.json": JSON_OBJECT.replace("REST", rest)}, ("lint", "{d}/a.json"), 2, message)
    case(f"dir-json-{ident}", {"app.yaml": APP, "a.json": JSON_OBJECT.replace("REST", rest)}, ("lint", "{d}"), 2,
         message)
case("json-strict-ok", {"a.json": JSON_OBJECT.replace("REST", ', "data": {"x": "1"}')}, ("lint", "{d}/a.json"), 0,
     "PASSED")

# --- input size, file types and paths -------------------------------------------------------------
SMALL = {"DEPLOY_GATE_MAX_FILE_BYTES": "100"}
case("file-over-limit", {"m.yaml": APP}, ("lint", "{d}/m.yaml"), 2,
     r"m\.yaml: larger than 100 bytes, the limit on an input file; set DEPLOY_GATE_MAX_FILE_BYTES", env=SMALL)
case("stdin-over-limit", {}, ("lint", "-"), 2, r"<stdin>: larger than 100 bytes", stdin=APP, env=SMALL)
case("config-over-limit", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                           "gate.yaml": "pairs: []\n" * 20}, ("lint", "{d}/cm.yaml", "--config", "{d}/gate.yaml"), 2,
     r"gate\.yaml: larger than 100 bytes", env=SMALL)
case("apply-output-over-limit", {}, ("verify", "--from-apply-output", "-", *UNREACHABLE), 2,
     r"<stdin>: larger than 100 bytes", stdin="deployment.apps/web\n" * 10, env=SMALL)
case("limit-not-a-number", {"m.yaml": APP}, ("lint", "{d}/m.yaml"), 2,
     "DEPLOY_GATE_MAX_FILE_BYTES='lots': expected a positive number", env={"DEPLOY_GATE_MAX_FILE_BYTES": "lots"})
case("limit-raised", {"m.yaml": APP}, ("lint", "{d}/m.yaml"), 0, "PASSED",
     env={"DEPLOY_GATE_MAX_FILE_BYTES": "100000"})
case("dev-zero", {}, ("lint", "/dev/zero"), 2, r"/dev/zero: not a regular file .*pipe it to '-'")
case("fifo", {"p.yaml": FIFO}, ("lint", "{d}/p.yaml"), 2, r"p\.yaml: not a regular file")
case("dir-fifo", {"app.yaml": APP, "p.yaml": FIFO}, ("lint", "{d}"), 2, r"p\.yaml: not a regular file")
case("apply-output-fifo", {"out": FIFO}, ("verify", "--from-apply-output", "{d}/out", *UNREACHABLE), 2,
     "not a regular file")
case("config-dev-zero", {"app.yaml": APP}, ("lint", "{d}/app.yaml", "--config", "/dev/zero"), 2,
     "not a regular file")
case("empty-path", {}, ("lint", ""), 2, "'': an empty PATH")
case("empty-path-f", {"app.yaml": APP}, ("lint", "{d}/app.yaml", "-f", ""), 2, "'': an empty PATH")
case("empty-config", {"app.yaml": APP}, ("lint", "{d}/app.yaml", "--config", ""), 2,
     "Invalid value for .--config.: expected a file name")
case("verify-empty-path", {}, ("verify", "", *UNREACHABLE), 2, "'': an empty PATH")
case("name-too-long", {}, ("lint", "{d}/" + "a" * 300 + ".yaml"), 2, "cannot read: File name too long")
case("dir-101-levels", {"/".join(["d"] * 101) + "/x.yaml": CONFIGMAP.replace("{VALUE}", "b")}, ("lint", "{d}"), 2,
     r"more than 100 directories deep below")
case("dir-100-levels-ok", {"/".join(["d"] * 100) + "/x.yaml": CONFIGMAP.replace("{VALUE}", "b")}, ("lint", "{d}"), 0,
     "PASSED")
case("dir-dangling-symlink", {"app.yaml": APP, "old.yaml": Symlink("{d}/gone.yaml")}, ("lint", "{d}"), 2,
     r"old\.yaml: no such file or directory \(a symbolic link to a missing file\)")
case("dir-looping-symlink", {"app.yaml": APP, "loop.yaml": Symlink("loop.yaml")}, ("lint", "{d}"), 2,
     r"loop\.yaml: cannot read: Too many levels of symbolic links")
case("dir-symlink-to-directory-not-followed", {"app.yaml": APP, "real/x.yaml": APP.replace("web", "other"),
                                               "link.yaml": Symlink("{d}/real")}, ("lint", "{d}/app.yaml"), 0,
     "PASSED")
case("dir-config-dangling-symlink", {"app.yaml": APP, "gate.yaml": Symlink("{d}/missing.yaml")}, ("lint", "{d}"), 2,
     r"gate\.yaml: no such file or directory \(a symbolic link")
case("dir-config-fifo", {"app.yaml": APP, "gate.yaml": FIFO}, ("lint", "{d}"), 2, r"gate\.yaml: not a regular file")
case("dir-config-directory", {"app.yaml": APP, "gate.yaml/x": ""}, ("lint", "{d}"), 2,
     r"gate\.yaml: cannot read: it is a directory")
STRING_BOMB = "big: &s " + "x" * 100_000 + "\napiVersion: v1\nkind: List\nitems:\n" + "".join(
    f"- {{apiVersion: v1, kind: Service, metadata: {{name: s{i}}}, spec: {{selector: {{app: *s}}}}}}\n"
    for i in range(200))
lint("alias-string-bomb", STRING_BOMB, 2, r"m\.yaml:1: YAML aliases expand this document to [\d,]+ nodes and "
                                          r"characters .*alias bomb")
lint("alias-shared-labels-ok", fill(DEPLOYMENT, LABELS="&l {app: web}", MATCH="*l", TEMPLATE="*l"), 0, "PASSED")

# --- selectors of PodDisruptionBudgets and monitors; Argo Rollouts ----------------------------------
PDB = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: shop}\nspec: "
MONITOR = "apiVersion: monitoring.coreos.com/v1\nkind: KIND\nmetadata: {name: m, namespace: shop}\nspec: "
SERVICE_MONITOR, POD_MONITOR = (MONITOR.replace("KIND", kind) for kind in ("ServiceMonitor", "PodMonitor"))
ROLLOUT = fill(DEPLOYMENT).replace("apiVersion: apps/v1\nkind: Deployment", "apiVersion: argoproj.io/v1alpha1\n"
                                                                            "kind: Rollout")
for ident, text, first in [
    ("pdb-selector-string", PDB + "{selector: app=web}\n", r"spec\.selector: expected a label selector"),
    ("pdb-match-labels-list", PDB + "{selector: {matchLabels: [app]}}\n",
     r"spec\.selector\.matchLabels: expected a mapping"),
    ("pdb-label-int", PDB + "{selector: {matchLabels: {app: 1}}}\n", r"matchLabels\.app: expected a string, got 1"),
    ("servicemonitor-selector-list", MONITOR.replace("KIND", "ServiceMonitor") + "{selector: [a]}\n",
     r"spec\.selector: expected a label selector"),
    ("servicemonitor-namespaces-string", MONITOR.replace("KIND", "ServiceMonitor") + "{selector: {}, "
                                                                                    "namespaceSelector: shop}\n",
     r"spec\.namespaceSelector: expected a namespace selector"),
    ("servicemonitor-match-names-string", MONITOR.replace("KIND", "ServiceMonitor") + "{namespaceSelector: "
                                                                                     "{matchNames: shop}}\n",
     r"namespaceSelector\.matchNames: expected a list"),
    ("podmonitor-selector-string", MONITOR.replace("KIND", "PodMonitor") + "{selector: app=web}\n",
     r"spec\.selector: expected a label selector"),
    ("rollout-template-label-int", ROLLOUT.replace("labels: {app: web}\n    spec", "labels: {app: 2}\n    spec"),
     r"spec\.template\.metadata\.labels\.app: expected a string, got 2"),
    ("rollout-container-port-quoted", fill(DEPLOYMENT, PORT='"8080"').replace(
        "apiVersion: apps/v1\nkind: Deployment", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout"),
     r"containers\[0\]\.ports\[0\]\.containerPort: expected a port number"),
    ("rollout-selector-string", ROLLOUT.replace("selector:\n    matchLabels: {app: web}", "selector: app=web"),
     r"spec\.selector: expected a label selector"),
    ("pdb-match-labels-words", PDB + "{selector: {matchLabels: [app, web]}}\n",
     r"spec\.selector\.matchLabels: expected a mapping"),
    ("servicemonitor-match-label-typo", SERVICE_MONITOR + "{selector: {matchLabel: {app: web}}}\n",
     r"spec\.selector\.matchLabel: unknown field"),
    ("podmonitor-label-value-space", POD_MONITOR + "{selector: {matchLabels: {tier: back end}}}\n",
     r"matchLabels\.tier: expected a label value .*got 'back end'"),
    ("custom-workload-match-label-typo", ROLLOUT.replace("argoproj.io", "apps.kruise.io").replace(
        "kind: Rollout", "kind: CloneSet").replace("matchLabels:", "matchLabel:"),
     r"spec\.selector\.matchLabel: unknown field"),
    ("service-selector-value-tilde", fill(SERVICE, PORT="80", SELECTOR="{app: back~end}"),
     r"spec\.selector\.app: expected a label value .*got 'back~end'"),
    ("label-value-64", fill(DEPLOYMENT, LABELS="{app: " + "a" * 64 + "}"), r"metadata\.labels\.app: expected a label"),
    ("removed-beta-of-a-known-kind", "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: i}\n",
     r"apiVersion networking\.k8s\.io/v1beta1 is not served by Kubernetes for Ingress \(served: "
     r"networking\.k8s\.io/v1\)"),
]:
    lint_and_verify(ident, text, first)
lint("rollout-valid", ROLLOUT, 0, "PASSED")
for ident, text in [
    ("servicecidr", "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: c}\n"
                    "spec: {cidrs: [10.96.0.0/16]}\n"),
    ("volumeattributesclass", "apiVersion: storage.k8s.io/v1\nkind: VolumeAttributesClass\nmetadata: {name: v}\n"
                              "driverName: ebs.csi.aws.com\n"),
    ("projected-secret-name", POD + "{containers: [{name: c, image: x}], volumes: [{name: v, projected: "
                                    "{sources: [{secret: {name: tls}}]}}]}\n"),
]:
    lint(f"valid-{ident}", text, 0, "PASSED")
lint("other-groups-rollout-template-is-a-pod-template", ROLLOUT.replace("argoproj.io", "example.com").replace(
    "labels: {app: web}\n    spec", "labels: {app: 2}\n    spec"), 2,
     r"spec\.template\.metadata\.labels\.app: expected a string, got 2")
lint("custom-workload-plain-map-selector-is-its-own", ROLLOUT.replace("argoproj.io", "example.com").replace(
    "matchLabels: {app: web}", "app: web"), 0, "PASSED")

# --- directories: other tools' files, kustomizations ----------------------------------------------
SKAFFOLD = "apiVersion: skaffold/v4beta6\nkind: Config\nbuild: {artifacts: [{image: web}]}\n"
for ident, name, text in [("skaffold", "skaffold.yaml", SKAFFOLD),
                          ("json-with-comments", ".devcontainer/devcontainer.json", '{\n  // a comment\n  "a": 1\n}\n'),
                          ("helm-values", "chart/values.yaml", "image: {tag: latest}\nservice: {port: 80}\n"),
                          ("dashboard", "dash/grafana.json", '{"title": "web", "panels": []}'),
                          ("chart-yaml", "chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n"),
                          ("workflow", ".github/workflows/ci.yml", "on: push\njobs: {}\n"),
                          ("broken-non-k8s", "notes/x.yaml", "a: [\n")]:
    case(f"dir-skips-{ident}", {"app.yaml": APP, name: text}, ("lint", "{d}"), 0, "PASSED")
    if ident in ("skaffold", "json-with-comments", "helm-values", "chart-yaml"):
        case(f"named-{ident}-fails", {name: text}, ("lint", "{d}/" + name), 2, r"missing|invalid YAML|invalid JSON|"
                                                                                   "unknown kind|not a Kubernetes|"
                                                                                   "has no metadata")
case("dir-broken-k8s-fails", {"app.yaml": APP, "bad.yaml": "apiVersion: v1\nkind: Service\nmetadata: [\n"},
     ("lint", "{d}"), 2, r"bad\.yaml:\d+: invalid YAML")
case("dir-bad-type-fails", {"app.yaml": APP, "svc.yaml": fill(SERVICE, PORT="-1")}, ("lint", "{d}"), 2,
     r"svc\.yaml:\d+: spec\.ports\[0\]\.port")
case("dir-kustomization", {"k/kustomization.yaml": "resources: [app.yaml]\n", "k/app.yaml": APP}, ("lint", "{d}/k"),
     2, r"is a kustomization; render it with -k .*k")
case("dir-nested-kustomization", {"app.yaml": APP, "overlays/prod/kustomization.yaml": "resources: [../../]\n",
                                  "overlays/prod/patch.yaml": APP}, ("lint", "{d}"), 2, "render it with -k")
for ident, name, text in [
        ("kind-cluster", "kind.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: worker}]\n"),
        ("istio-operator", "istio/install.yaml", "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"
                                                 "metadata: {name: demo, namespace: istio-system}\n"),
        ("kubeadm", "kubeadm.yaml", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"),
        ("kubelet", "kubelet.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"),
        ("custom-no-name", "thing.yaml", "apiVersion: example.com/v1\nkind: Thing\nspec: {}\n")]:
    case(f"dir-skips-{ident}-with-a-note", {"app.yaml": APP, name: text}, ("lint", "{d}"), 0,
         rf"^note: skipped .*{name}: line 1: .*(tool's configuration|no metadata\.name)")
case("dir-builtin-no-name-fails", {"app.yaml": APP, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: {}\n"},
     ("lint", "{d}"), 2, r"cm\.yaml:\d+: ConfigMap has no metadata\.name")
case("named-kind-cluster-fails", {"kind.yaml": "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"},
     ("lint", "{d}/kind.yaml"), 2, r"Cluster has no metadata\.name")
case("dir-multi-doc-non-k8s", {"app.yaml": APP, "x.yaml": "a: 1\n---\nb: 2\n"}, ("lint", "{d}"), 0, "PASSED")

# --- gate.yaml ------------------------------------------------------------------------------------
CONFIG = ("lint", "{d}/app.yaml", "--config", "{d}/gate.yaml")
PAIR = "pairs:\n  - from: deployment/web\n    to: {TO}\n"
for ident, to, message in [
    ("pair-port-zero", "web:0", "expected a port number .* got '0'"),
    ("pair-port-too-big", "web:99999", "got '99999'"),
    ("pair-port-negative", "web:-80", "got '-80'"),
    ("pair-port-superscript", "'web.shop:²'", "got '²'"),
    ("pair-port-arabic-digits", "'web:٨٠'", "got '٨٠'"),
    ("pair-port-empty", "'web:'", r"expected SERVICE\[\.NAMESPACE\]:PORT"),
    ("pair-port-bad-name", "web:HTTP_PORT", "got 'HTTP_PORT'"),
    ("pair-to-int", "80", "expected a non-empty string, got 80"),
    ("pair-to-list", "[web, 80]", "expected a non-empty string"),
]:
    case(f"config-{ident}", {"app.yaml": APP, "gate.yaml": PAIR.replace("{TO}", to)}, CONFIG, 2,
         rf"gate\.yaml:\d+: pairs\[0\]\.to: .*{message}")
for ident, value in [("nan", "nan"), ("dot-nan", ".nan"), ("inf", "inf"), ("dot-inf", ".inf"), ("big", "1e400"),
                     ("negative", "-5"), ("zero", "0"), ("words", "soon"), ("bool", "true"), ("list", "[1]"),
                     ("nan-seconds", "nans"), ("inf-minutes", "infm"), ("null", "null")]:
    case(f"config-timeout-{ident}", {"app.yaml": APP, "gate.yaml": f"rollout_timeout: {value}\n"}, CONFIG, 2,
         r"gate\.yaml:1: rollout_timeout: expected a positive, finite duration")
for ident, text, message in [
    ("probe-timeout-inf", "probe: {timeout: .inf}\n", r"probe\.timeout: expected a positive, finite duration"),
    ("pair-timeout-nan", PAIR.replace("{TO}", "web:80") + "    timeout: .nan\n",
     r"pairs\[0\]\.timeout: expected a positive, finite"),
    ("caller-label-int", "pairs:\n  - from: {namespace: shop, labels: {app: 2}}\n    to: web:80\n",
     r"pairs\[0\]\.from\.labels\.app: expected a string, got 2 \(quote it"),
    ("caller-namespace-int", "pairs:\n  - from: {namespace: 5, labels: {app: web}}\n    to: web:80\n",
     r"pairs\[0\]\.from\.namespace: expected a non-empty string"),
    ("caller-kind", "pairs:\n  - from: widget/web\n    to: web:80\n", r"pairs\[0\]\.from: expected KIND/NAME"),
    ("unknown-field", "rollout_timout: 5\n", "unknown field .*did you mean 'rollout_timeout'"),
    ("two-documents", "pairs: []\n---\npairs: []\n", "expected one YAML document"),
    ("top-list", "- a\n", "expected a mapping"),
    ("pairs-mapping", "pairs: {a: 1}\n", r"pairs: expected a list"),
    ("expect-typo", PAIR.replace("{TO}", "web:80") + "    expect: alow\n", r"expect: expected 'allow' or 'deny'"),
    ("http-relative", PAIR.replace("{TO}", "web:80") + "    http: health\n", "expected a path starting with '/'"),
    ("alias-bomb", BOMB, "alias bomb"),
    ("duplicate", "pairs: []\npairs: []\n", "duplicate key 'pairs'"),
    ("probe-mode", "probe: {mode: ssh}\n", r"probe\.mode: expected one of pod, exec"),
    ("required-labels-int", "required_labels: [1]\n", r"required_labels\[0\]: expected a label key .*, got 1"),
]:
    case(f"config-{ident}", {"app.yaml": APP, "gate.yaml": text}, CONFIG, 2, rf"gate\.yaml(:\d+)?: .*{message}")
case("config-binary", {"app.yaml": APP, "gate.yaml": b"\xff\xd8\xff\xe0JFIF"}, CONFIG, 2,
     r"gate\.yaml: not a text file")
case("config-directory", {"app.yaml": APP, "gate.yaml/x": ""}, CONFIG, 2, r"gate\.yaml: cannot read")
case("config-missing", {"app.yaml": APP}, CONFIG, 2, r"gate\.yaml: no such file or directory")
case("config-in-dir-bad", {"app.yaml": APP, "gate.yaml": "pairs: 5\n"}, ("lint", "{d}"), 2, "pairs: expected a list")
case("verify-config-bad-first", {"app.yaml": APP, "gate.yaml": "endpoints_timeout: -1\n"},
     ("verify", "{d}", *UNREACHABLE), 2, "endpoints_timeout: expected a positive, finite duration")
case("config-empty-is-defaults", {"app.yaml": APP, "gate.yaml": ""}, CONFIG, 0, "PASSED")

# --- command line ---------------------------------------------------------------------------------
VERIFY = ("verify", "{d}/app.yaml", *UNREACHABLE)
for flag in ("--rollout-timeout", "--endpoints-timeout"):
    for value in ("nan", "inf", "-inf", "1e400", "-1", "0", "soon", "0s"):
        case(f"cli{flag}-{value}", {"app.yaml": APP}, (*VERIFY, flag, value), 2,
             r"Usage:|Invalid value for '--(rollout|endpoints)-timeout'")
case("cli-timeout-valid-then-unreachable", {"app.yaml": APP}, (*VERIFY, "--rollout-timeout", "2m"), 3,
     "cannot reach the API server at https://127.0.0.1:1")
case("verify-valid-unreachable", {"app.yaml": APP}, VERIFY, 3, "cannot reach the API server")
case("verify-no-input", {}, ("verify", *UNREACHABLE), 2, "give the touched objects")
case("lint-no-input", {}, ("lint",), 2, "give manifests")
case("lint-bad-output", {"app.yaml": APP}, ("lint", "{d}/app.yaml", "-o", "yaml"), 2, r"Usage:|Invalid value")
case("junit-is-directory", {"app.yaml": APP, "out/x": ""}, ("lint", "{d}/app.yaml", "--junit", "{d}/out"), 2,
     r"--junit .*out: is a directory")
case("junit-parent-is-file", {"app.yaml": APP, "file": "x"}, ("lint", "{d}/app.yaml", "--junit", "{d}/file/r.xml"),
     2, r"--junit .*file is not a directory")
case("junit-missing-parent-is-created", {"app.yaml": APP}, ("lint", "{d}/app.yaml", "--junit", "{d}/new/dir/r.xml"),
     0, "PASSED")
case("verify-junit-directory-before-connect", {"app.yaml": APP, "out/x": ""},
     (*VERIFY, "--junit", "{d}/out"), 2, "is a directory")
case("summary-missing-dir", {"app.yaml": APP}, ("lint", "{d}/app.yaml"), 2,
     r"GITHUB_STEP_SUMMARY .*missing/summary\.md: directory .*missing does not exist",
     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "{d}/missing/summary.md"})
case("summary-is-directory", {"app.yaml": APP, "s/x": ""}, ("lint", "{d}/app.yaml"), 2, "is a directory",
     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "{d}/s"})
EXPLAIN = ("explain", "--from", "shop/web", "--to", "shop/web:80", "-f", "{d}/app.yaml")
for ident, to, message in [("zero", "shop/web:0", "got '0'"), ("big", "shop/web:65536", "got '65536'"),
                           ("negative", "web.shop:-80", "got '-80'"), ("superscript", "web.shop:²", "got '²'"),
                           ("fullwidth", "web.shop:\uff18\uff10", "got '\uff18\uff10'"),
                           ("no-port", "web.shop", "expected"),
                           ("empty-port", "web.shop:", "expected"), ("bad-name", "web:Http", "got 'Http'")]:
    case(f"explain-to-{ident}", {"app.yaml": APP}, (*EXPLAIN[:3], "--to", to, *EXPLAIN[5:]), 2,
         rf"--to '.*': .*{message}")
case("explain-from-bad", {"app.yaml": APP}, ("explain", "--from", "a/b/c/d", "--to", "web:80", "-f", "{d}/app.yaml"),
     2, "--from 'a/b/c/d': expected")
case("explain-context-without-live", {"app.yaml": APP}, (*EXPLAIN, "--context", "prod"), 2,
     "--context need --live")
case("explain-kubeconfig-without-live", {"app.yaml": APP}, (*EXPLAIN, *UNREACHABLE), 2, "--kubeconfig need --live")
case("explain-live-and-files", {"app.yaml": APP}, (*EXPLAIN, "--live", *UNREACHABLE), 2, "not both")
case("explain-no-input", {}, ("explain", "--from", "web", "--to", "web:80"), 2, "explain reads manifests")
case("explain-live-unreachable", {}, ("explain", "--from", "shop/web", "--to", "shop/web:80", "--live",
                                      *UNREACHABLE), 3, "cannot reach the API server")
case("explain-bad-manifest", {"app.yaml": fill(SERVICE, PORT="0")}, EXPLAIN, 2, r"spec\.ports\[0\]\.port")
case("explain-allowed", {"app.yaml": APP}, EXPLAIN, 0, "ALLOW")

for command in (("lint", "{d}/app.yaml"), VERIFY, EXPLAIN):
    for number, value in enumerate(("Shop", "a b", "-x", "x" * 64, "shop\n::error::x")):
        case(f"{command[0]}-namespace-{number}", {"app.yaml": APP}, (*command, "-n", value), 2,
             r"Usage:|Invalid value for '-n'")

# --- kubeconfig -----------------------------------------------------------------------------------
for ident, text, message in [
    ("two-documents", KUBECONFIG + "---\n" + KUBECONFIG, "expected a single document"),
    ("contexts-int", "apiVersion: v1\nkind: Config\ncontexts: 5\ncurrent-context: c\n", "cannot load"),
    ("empty", "", "cannot load"),
    ("not-yaml", "a: [\n", "cannot load"),
    ("no-current-context", KUBECONFIG.replace("current-context: c\n", ""), "cannot load"),
    ("server-missing", KUBECONFIG.replace('server: "https://127.0.0.1:1", ', ""), "names no https:// server"),
    ("server-no-scheme", KUBECONFIG.replace("https://", ""), "names no https:// server"),
]:
    case(f"kubeconfig-{ident}", {"app.yaml": APP, "kc": text}, ("verify", "{d}/app.yaml", "--kubeconfig", "{d}/kc"),
         2, message)
case("kubeconfig-binary", {"app.yaml": APP, "kc": b"\xff\x00\xfe"}, ("verify", "{d}/app.yaml", "--kubeconfig",
                                                                       "{d}/kc"), 2, "cannot load")
case("kubeconfig-missing", {"app.yaml": APP}, ("verify", "{d}/app.yaml", "--kubeconfig", "{d}/nope"), 2,
     "cannot load the cluster configuration")
case("in-cluster-without-service-account", {"app.yaml": APP}, ("verify", "{d}/app.yaml"), 2,
     r"cannot load the cluster configuration from .*not inside a pod",
     env={"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"})
case("kubeconfig-unknown-context", {"app.yaml": APP}, (*VERIFY, "--context", "nope"), 2, "cannot load")


@pytest.mark.parametrize(("files", "args", "code", "first", "stdin", "env"), CASES)
def test_hostile_input(tmp_path: Path, files: dict[str, Any], args: tuple[str, ...], code: int, first: str,
                       stdin: str | bytes | None, env: dict[str, str]) -> None:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            path.symlink_to(content.target.replace("{d}", str(tmp_path)))
        elif content is FIFO:
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    argv = [arg.replace("{d}", str(tmp_path)) for arg in args]
    environment = {**CLEAN_ENV, **{k: v.replace("{d}", str(tmp_path)) for k, v in env.items()}}
    result = CliRunner().invoke(main, argv, input=stdin, env=environment)
    out, err = result.stdout, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for text in (out, err):
        assert "internal error" not in text and "Traceback" not in text
        assert "\x1b" not in text and not re.search(r"^::", text, re.M)
    assert result.exit_code == code, (out, err)
    shown = err if code in (2, 3) else out
    assert shown, (out, err)
    if code in (0, 1):  # notes (skipped files) come before the summary
        assert re.search(first, shown, re.M), shown
    else:
        line = shown.splitlines()[0] if not shown.startswith("Usage:") else shown
        assert re.search(first, line), line
    if code == 2 and not shown.startswith("Usage:"):
        assert out == "" and len(err.splitlines()) == 1, (out, err)


def test_at_least_two_hundred_cases() -> None:
    assert len(CASES) >= 200
