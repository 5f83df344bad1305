"""`python -m tests.cluster up|down|status|build`: the test cluster's command line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from tests.cluster import build, config, images
from tests.cluster.cluster import Cluster, ClusterError, leftovers


def _log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or reuse) the cluster; prints KUBECONFIG=<path> last")
    up.add_argument("--fake-nodes", type=int, default=0, metavar="N", help="also run kwok with N fake nodes")
    up.add_argument("--no-netpol", action="store_true",
                    help="without the NetworkPolicy enforcer, as a network plugin that ignores policies")
    commands.add_parser("down", help="stop everything and remove what `up` created")
    commands.add_parser("status", help="say what runs (exit 0 when the cluster is ready)")
    commands.add_parser("build", help="only build (or reuse) the Go binaries and deploy-gate's image")
    args = parser.parse_args(argv)

    if args.command == "status" and not config.BIN_CACHE.exists():
        print(json.dumps({"ready": False, "binaries": "not built", "leftovers": leftovers()}, indent=2))
        return 1
    started = time.monotonic()
    try:
        binaries = build.build_all(_log)
        if args.command == "build":
            images.deploy_gate_archive(_log)
            _log(f"binaries and images ready in {time.monotonic() - started:.0f} s")
            for name, path in sorted(binaries.items()):
                print(f"{name}={path}")
            return 0
        cluster = Cluster(binaries, _log)
        if args.command == "up":
            kubeconfig = cluster.up(fake_nodes=args.fake_nodes, netpol=not args.no_netpol)
            _log(f"up in {time.monotonic() - started:.1f} s (build check included)")
            print(f"KUBECONFIG={kubeconfig}")
            return 0
        if args.command == "down":
            cluster.down()
            remaining = leftovers()
            for item in remaining:
                _log(f"left behind: {item}")
            return 1 if remaining else 0
        status = cluster.status()
        print(json.dumps(status, indent=2))
        return 0 if status["ready"] else 1
    except (ClusterError, subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", None)
        _log(f"error: {error}" + (f"\n{detail}" if detail else ""))
        return 1


if __name__ == "__main__":
    sys.exit(main())
