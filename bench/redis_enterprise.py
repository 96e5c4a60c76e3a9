"""Speed of the Redis Enterprise rules: `kpatch images` on installs with many
RedisEnterpriseClusters, as a ratio to a bare CSafeLoader parse of the same
stream, at growing sizes (the ratio should stay flat: linear time).

Each generated app is a RedisEnterpriseCluster in one of the shapes the rules
resolve differently (specs left out, repository without versionTag, call-home
client disabled) and a Deployment; one operator Deployment serves them all.

    python bench/redis_enterprise.py [--sizes 1000 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from kpatch.inventory import find_images

OPERATOR = """apiVersion: apps/v1
kind: Deployment
metadata: {name: redis-enterprise-operator}
spec:
  template:
    spec:
      containers:
        - {name: redis-enterprise-operator, image: redislabs/operator:8.0.20-23}
        - {name: admission, image: redislabs/operator:8.0.20-23}
"""
SHAPES = (
    "spec: {nodes: 3}\n",
    "spec:\n  nodes: 3\n  redisEnterpriseServicesRiggerImageSpec:\n"
    "    repository: registry.corp/redislabs/k8s-controller\n"
    "  bootstrapperImageSpec: {repository: registry.corp/redislabs/operator}\n",
    "spec:\n  nodes: 3\n  usageMeter: {callHomeClient: {disabled: true}}\n"
    "  redisEnterpriseImageSpec: {repository: redislabs/redis, versionTag: 8.0.20-44.23}\n",
)


def generate(documents: int) -> str:
    """About ``documents`` documents: the operator, then apps of two documents."""
    parts = [OPERATOR]
    for index in range((documents - 1) // 2):
        parts.append(
            f"apiVersion: app.redislabs.com/v1\nkind: RedisEnterpriseCluster\n"
            f"metadata: {{name: rec-{index}, namespace: app-{index}}}\n{SHAPES[index % 3]}")
        parts.append(
            f"apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata: {{name: client-{index}, namespace: app-{index}}}\n"
            f"spec:\n  template:\n    spec:\n      containers:\n"
            f"        - {{name: app, image: registry.corp/apps/client:{index % 50}.0}}\n")
    return "---\n".join(parts)


def best(repeats: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'documents':>10} {'parse s':>9} {'images s':>9} {'ratio':>7}")
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            text = generate(size)
            path = Path(folder) / f"install-{size}.yaml"
            path.write_text(text, encoding="utf-8")
            found = find_images([str(path)])
            assert not found.warnings and all(u.image for u in found.uses), "unknown images"
            parse = best(args.repeats,
                         lambda t=text: list(yaml.load_all(t, Loader=yaml.CSafeLoader)))
            images = best(args.repeats, lambda p=path: find_images([str(p)]))
            ratios.append(images / parse)
            print(f"{size:>10} {parse:>9.3f} {images:>9.3f} {images / parse:>6.2f}x")
    if len(ratios) > 1:
        print(f"growth of the ratio from the smallest to the largest: "
              f"{ratios[-1] / ratios[0]:.2f} (1.00 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
