"""k8ssandra-operator (k8ssandra/k8ssandra-operator): K8ssandraCluster and friends."""

from __future__ import annotations

from kpatch.implicit import Rule
from kpatch.operators.k8ssandra_operator import rules

RULES: dict[str, Rule] = {"k8ssandra-cluster": rules.cluster_rule}
