"""cass-operator (k8ssandra/cass-operator): CassandraDatacenter and ImageConfig."""

from __future__ import annotations

# Implicit-rule name (as profile.yaml switches it on) -> function in rules.py.
# Names only: the rules load when an install has a resource they apply to.
RULES: dict[str, str] = {
    "cass-operator-datacenter-images": "datacenter_images_rule",
}
