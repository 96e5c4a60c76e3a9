"""k8ssandra-operator (k8ssandra/k8ssandra-operator): K8ssandraCluster, Reaper, Stargate."""

from __future__ import annotations

from kpatch.implicit import Rule
from kpatch.operators.k8ssandra_operator import rules

RULES: dict[str, Rule] = {
    "k8ssandra-cluster": rules.cluster_rule,
    "k8ssandra-reaper": rules.reaper_rule,
    "k8ssandra-stargate": rules.stargate_rule,
}
