"""Redis Enterprise operator (RedisLabs/redis-enterprise-k8s-docs): RedisEnterpriseCluster."""

from __future__ import annotations

# Implicit-rule name (as profile.yaml switches it on) -> function in rules.py.
# Names only: the rules load when an install has a resource they apply to.
RULES: dict[str, str] = {
    "redis-enterprise-defaults": "defaults_rule",
}
