"""`deploy-gate lint` at scale: wall seconds and peak RSS over a generated set (no cluster).

    python bench/lint_scale.py                       # 10,000 Deployments + Services, 1,000 policies, 200 pairs
    python bench/lint_scale.py --apps 2000 --namespaces 10
    python bench/lint_scale.py --configmaps 100000    # many small objects: peak RSS against the input size

The set is written to a temporary directory, one file per namespace plus a
gate.yaml with the pairs, and linted by a child process (`python -m gate lint`),
whose peak RSS is read from getrusage. See bench/README.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def app_objects(index: int, namespace: str) -> list[dict[str, object]]:
    """A Deployment and the Service selecting it, as lint's rules see the incident's app."""
    name, labels = f"app-{index}", {"app": f"app-{index}", "tier": "backend"}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                      {"name": "main", "image": "busybox:1.36",
                       "ports": [{"name": "http", "containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]}},
    ]


def policy(index: int, namespace: str, app: int) -> dict[str, object]:
    """A policy admitting the next app to this one on 8080."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"policy-{index}", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": {"app": f"app-{app}"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": f"app-{app + 1}"}}}],
                                  "ports": [{"port": 8080}]}]}}


def write_set(directory: Path, apps: int, policies: int, pairs: int, namespaces: int) -> None:
    per_namespace: dict[str, list[dict[str, object]]] = {f"ns-{n}": [] for n in range(namespaces)}
    namespace_of = [f"ns-{i % namespaces}" for i in range(apps)]
    for i in range(apps):
        per_namespace[namespace_of[i]] += app_objects(i, namespace_of[i])
    for p in range(policies):
        app = (p * (apps // max(policies, 1))) % apps
        per_namespace[namespace_of[app]].append(policy(p, namespace_of[app], app))
    for namespace, objects in per_namespace.items():
        (directory / f"{namespace}.yaml").write_text(yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False))
    lines = ["pairs:"]
    for p in range(pairs):
        caller = (p * (apps // max(pairs, 1))) % apps
        target = (caller + namespaces) % apps  # same namespace
        lines += [f"  - from: {namespace_of[caller]}/deployment/app-{caller}",
                  f"    to: app-{target}.{namespace_of[target]}:80", "    expect: allow"]
    (directory / "gate.yaml").write_text("\n".join(lines) + "\n")


def write_configmaps(directory: Path, count: int) -> None:
    """count small ConfigMaps (about 500 bytes each), 1,000 to a file."""
    for start in range(0, count, 1000):
        objects = [{"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"config-{i}", "namespace": f"ns-{i % 100}", "labels": {"app": f"app-{i}"}},
                    "data": {f"key-{k}": f"value {i} {k} " * 3 for k in range(8)}}
                   for i in range(start, min(start + 1000, count))]
        (directory / f"configmaps-{start}.yaml").write_text(yaml.dump_all(objects, Dumper=yaml.CSafeDumper))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10_000, help="Deployments, each with a Service")
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--configmaps", type=int, default=0, help="instead: only this many small ConfigMaps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lint-scale-") as temporary:
        directory = Path(temporary)
        if args.configmaps:
            write_configmaps(directory, args.configmaps)
        else:
            write_set(directory, args.apps, args.policies, args.pairs, args.namespaces)
        size = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "gate", "lint", str(directory)], cwd=ROOT,
                              capture_output=True, text=True)
        wall = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if done.returncode not in (0, 1):
        sys.exit(f"lint failed (exit {done.returncode}): {done.stderr.strip()}")
    summary = done.stdout.strip().splitlines()[-1]
    if args.configmaps:
        print(f"{'configmaps':>10} {'input MB':>8} {'wall s':>6} {'peak RSS MB':>11} {'RSS/input':>9}  summary")
        print(f"{args.configmaps:>10} {size:>8.1f} {wall:>6.2f} {peak_mb:>11.0f} {peak_mb / size:>9.1f}  {summary}")
        return
    print(f"{'deployments':>11} {'services':>8} {'policies':>8} {'pairs':>5} {'namespaces':>10} {'input MB':>8} "
          f"{'wall s':>6} {'peak RSS MB':>11}  summary")
    print(f"{args.apps:>11} {args.apps:>8} {args.policies:>8} {args.pairs:>5} {args.namespaces:>10} {size:>8.1f} "
          f"{wall:>6.2f} {peak_mb:>11.0f}  {summary}")


if __name__ == "__main__":
    main()
