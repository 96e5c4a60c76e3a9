"""k8ssandra-operator (k8ssandra/k8ssandra-operator): K8ssandraCluster, Reaper, Stargate."""

from __future__ import annotations

# Implicit-rule name (as profile.yaml switches it on) -> function in rules.py.
# Names only: the rules load when an install has a resource they apply to.
RULES: dict[str, str] = {
    "k8ssandra-cluster": "cluster_rule",
    "k8ssandra-reaper": "reaper_rule",
    "k8ssandra-stargate": "stargate_rule",
}
