"""cass-operator (k8ssandra/cass-operator): CassandraDatacenter and ImageConfig."""

from __future__ import annotations

from kpatch.implicit import Rule
from kpatch.operators.cass_operator import rules

RULES: dict[str, Rule] = {"cass-operator-datacenter-images": rules.datacenter_images_rule}
