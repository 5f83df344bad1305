"""`deploy-gate lint` and `explain` at scale: wall seconds and peak RSS over a generated set (no cluster).

    python bench/lint_scale.py                       # 10,000 Deployments + Services, 1,000 policies, 200 pairs
    python bench/lint_scale.py --apps 2000 --namespaces 10
    python bench/lint_scale.py --configmaps 100000    # many small objects: peak RSS against the input size

The set is written to a temporary directory, one file per namespace plus a
gate.yaml with the pairs, and linted by a child process (`python -m gate lint`);
then the first pair is explained over the same set (`python -m gate explain`,
which takes one pair). Each child's peak RSS is GNU time's. See bench/README.md.
"""

from __future__ import annotations

import argparse
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


def pair_list(apps: int, pairs: int, namespaces: int) -> list[tuple[str, str]]:
    """(caller, target) of each pair, in gate.yaml's forms: a caller and a target in the same namespace."""
    namespace_of = [f"ns-{i % namespaces}" for i in range(apps)]
    callers = [(p * (apps // max(pairs, 1))) % apps for p in range(pairs)]
    return [(f"{namespace_of[c]}/deployment/app-{c}",
             f"app-{(c + namespaces) % apps}.{namespace_of[(c + namespaces) % apps]}:80") for c in callers]


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
    for caller, target in pair_list(apps, pairs, namespaces):
        lines += [f"  - from: {caller}", f"    to: {target}", "    expect: allow"]
    (directory / "gate.yaml").write_text("\n".join(lines) + "\n")


def write_configmaps(directory: Path, count: int) -> None:
    """count small ConfigMaps (about 500 bytes each), 1,000 to a file."""
    for start in range(0, count, 1000):
        objects = [{"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"config-{i}", "namespace": f"ns-{i % 100}", "labels": {"app": f"app-{i}"}},
                    "data": {f"key-{k}": f"value {i} {k} " * 3 for k in range(8)}}
                   for i in range(start, min(start + 1000, count))]
        (directory / f"configmaps-{start}.yaml").write_text(yaml.dump_all(objects, Dumper=yaml.CSafeDumper))


def measured(argv: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a deploy-gate command as a child: wall seconds, its own peak RSS in MB (GNU time writes it to a
    file of its own, so neither the command's stderr nor an earlier child's peak mixes in), its result."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as usage:
        started = time.monotonic()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", usage.name, sys.executable, "-m", "gate", *argv],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - started
        peak_kb = int(usage.read().split()[-1])
    if done.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed (exit {done.returncode}): {done.stderr.strip()}")
    return wall, peak_kb / 1024, done


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
        wall, peak_mb, done = measured(["lint", str(directory)])
        rows = [("lint", wall, peak_mb, done.stdout.strip().splitlines()[-1])]
        if not args.configmaps and args.pairs:
            caller, target = pair_list(args.apps, args.pairs, args.namespaces)[0]
            wall, peak_mb, done = measured(["explain", "--from", caller, "--to", target, "-f", str(directory)])
            rows.append(("explain", wall, peak_mb, done.stdout.strip().splitlines()[0][:60]))
    if args.configmaps:
        print(f"{'configmaps':>10} {'input MB':>8} {'wall s':>6} {'peak RSS MB':>11} {'RSS/input':>9}  summary")
        _, wall, peak_mb, summary = rows[0]
        print(f"{args.configmaps:>10} {size:>8.1f} {wall:>6.2f} {peak_mb:>11.0f} {peak_mb / size:>9.1f}  {summary}")
        return
    print(f"{'command':<7} {'deployments':>11} {'services':>8} {'policies':>8} {'pairs':>5} {'namespaces':>10} "
          f"{'input MB':>8} {'wall s':>6} {'peak RSS MB':>11}  summary")
    for command, wall, peak_mb, summary in rows:
        print(f"{command:<7} {args.apps:>11} {args.apps:>8} {args.policies:>8} {args.pairs:>5} {args.namespaces:>10} "
              f"{size:>8.1f} {wall:>6.2f} {peak_mb:>11.0f}  {summary}")


if __name__ == "__main__":
    main()
