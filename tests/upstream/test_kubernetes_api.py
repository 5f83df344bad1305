"""gate/kinds.py and gate/schema.py against the Kubernetes API of every supported minor (k8s.io/api v0.30-v0.34).

Hand-kept tables drift: a GA kind the table lacks is "unknown kind", exit 2, for a valid manifest. These tests
download the `k8s.io/api` and `k8s.io/apimachinery` modules through the Go module proxy (into Go's module
cache, nothing into this repository) and compare. Skipped without `go` or the proxy; not in the unit tier.
"""

from __future__ import annotations

from typing import Any

import pytest

from gate import schema
from gate.kinds import BUILTIN_GROUPS, BUILTIN_KINDS, kind_info, unknown_kind_problem
from tests.upstream.k8s_api import SUPPORTED_MINORS, ApiKind, ApiModule, GoField, api_module, meta_types

pytestmark = pytest.mark.upstream
# Alpha versions k8s.io/api keeps the types of, though the API server stopped serving them in 1.22.
UNSERVED_ALPHAS = {"rbac.authorization.k8s.io/v1alpha1", "scheduling.k8s.io/v1alpha1", "node.k8s.io/v1alpha1"}
# Kinds of the table that are not in k8s.io/api: kubectl's List, CRDs (apiextensions-apiserver), APIService
# (kube-aggregator), and Binding (a subresource-like kind the module registers without +genclient).
NOT_IN_MODULE = {"List", "CustomResourceDefinition", "APIService", "Binding"}


def _module(minor: int) -> ApiModule:
    module = api_module(minor)
    if module is None:
        pytest.skip("go or the Go module proxy is unavailable")
    return module


def _served(module: ApiModule) -> list[ApiKind]:
    return [k for k in module.kinds if k.served_in(module.minor) and k.api_version not in UNSERVED_ALPHAS and
            (k.group in BUILTIN_GROUPS or not k.group)]


@pytest.mark.parametrize("minor", SUPPORTED_MINORS)
def test_every_kind_kubernetes_serves_is_known_with_its_scope(minor: int) -> None:
    problems = [f"{k.api_version} {k.kind}: {unknown_kind_problem(k.api_version, k.kind, set())}"
                for k in _served(_module(minor)) if unknown_kind_problem(k.api_version, k.kind, set())]
    problems += [f"{k.api_version} {k.kind}: namespaced is {k.namespaced} upstream" for k in _served(_module(minor))
                 if (known := kind_info(k.kind, k.api_version)) and known.resource.namespaced != k.namespaced]
    assert not problems, "\n".join(problems)


def test_every_version_the_table_names_is_served_by_a_supported_minor() -> None:
    served = {(k.api_version, k.kind) for minor in SUPPORTED_MINORS for k in _served(_module(minor))}
    stale = [f"{version} {name}" for name, kind in BUILTIN_KINDS.items() if name not in NOT_IN_MODULE
             for version in kind.api_versions if (version, name) not in served]
    assert not stale, "\n".join(stale)


SCALARS = {"string": "string", "types.UID": "string", "metav1.Time": "string", "metav1.MicroTime": "string",
           "Time": "string", "MicroTime": "string", "int32": "int", "int64": "int", "int": "int", "bool": "bool",
           "intstr.IntOrString": "intorstring"}


def _resolve(go_type: str, package: str, module: ApiModule, meta: dict[str, list[GoField]],
             meta_strings: set[str]) -> tuple[str, Any]:
    """('list', element) / ('map', value) / ('struct', fields) / ('string' | 'int' | 'bool' | 'intorstring', None)."""
    text = go_type.lstrip("*")
    name = text.rpartition(".")[2]
    candidates = [
        ("list", text[2:]) if text.startswith("[]") else None,
        ("map", text.split("]", 1)[1]) if text.startswith("map[") else None,
        (SCALARS[text], None) if text in SCALARS else None,
        *[("struct", (where, module.structs[(where, name)])) if (where, name) in module.structs else
          ("string", None) if (where, name) in module.strings else None for where in (package, "core/v1")],
        ("struct", ("meta", meta[name])) if name in meta else None,
        ("string", None) if name in meta_strings else None,
    ]
    return next((found for found in candidates if found), ("unknown", text))


def _compare(spec: schema.Spec, go_type: str, package: str, path: str, module: ApiModule,
             meta: tuple[dict[str, list[GoField]], set[str]]) -> list[str]:
    """Where the schema's declared shape disagrees with the Go type (field names, lists, scalars)."""
    shape, detail = _resolve(go_type, package, module, *meta)
    if isinstance(spec, schema.ListOf):
        return _compare(spec.item, detail, package, f"{path}[]", module, meta) if shape == "list" else \
            [f"{path}: schema says a list, Go says {go_type}"]
    if isinstance(spec, schema.Map) and (spec.keys or spec.values) and not spec.fields:
        return [] if shape == "map" else [f"{path}: schema says a map, Go says {go_type}"]
    if isinstance(spec, schema.Map):
        if shape != "struct":
            return [f"{path}: schema says an object, Go says {go_type}"]
        where, fields = detail
        by_name = _json_fields(fields, where, module, meta)
        found = []
        for name, child in spec.fields.items():
            if name not in by_name:
                found.append(f"{path}.{name}: no such field in {go_type}")
            else:
                found += _compare(child, by_name[name][0], by_name[name][1], f"{path}.{name}", module, meta)
        return found
    expected = {schema.Int: "int", schema.Either: "intorstring", schema.Bool: "bool"}.get(type(spec), "string")
    return [] if shape == expected else [f"{path}: schema says {expected}, Go says {go_type}"]


def _json_fields(fields: list[GoField], where: str, module: ApiModule,
                 meta: tuple[dict[str, list[GoField]], set[str]]) -> dict[str, tuple[str, str]]:
    """json name → (Go type, its package), inline (embedded) structs flattened."""
    found: dict[str, tuple[str, str]] = {}
    for item in fields:
        if item.inline:
            shape, detail = _resolve(item.go_type, where, module, *meta)
            if shape == "struct":
                found.update(_json_fields(detail[1], detail[0], module, meta))
        else:
            found[item.json_name] = (item.go_type, where)
    return found


@pytest.mark.parametrize("minor", SUPPORTED_MINORS)
def test_schema_fields_are_the_apis_fields_with_their_types(minor: int) -> None:
    """Every field path gate/schema.py declares for a built-in kind exists upstream with a compatible type."""
    module, meta = _module(minor), meta_types(minor)
    if not meta[0]:
        pytest.skip("k8s.io/apimachinery could not be downloaded")
    problems = []
    for name, known in sorted(BUILTIN_KINDS.items()):
        upstream = next((k for k in module.kinds if (k.api_version, k.kind) == (known.resource.api_version, name)),
                        None)
        if upstream is None:
            continue  # kinds k8s.io/api lacks (List)
        live = schema.LIVE_SCHEMAS[known.live_schema] if known.live_schema else ()
        for spec in (*schema.KIND_SCHEMAS.get(known.key, ()), *live):
            problems += _compare(spec, name, upstream.package, name, module, meta)
    assert not problems, "\n".join(problems)
