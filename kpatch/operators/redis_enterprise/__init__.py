"""Redis Enterprise operator (RedisLabs/redis-enterprise-k8s-docs): RedisEnterpriseCluster."""

from __future__ import annotations

from kpatch.implicit import Rule
from kpatch.operators.redis_enterprise import rules

RULES: dict[str, Rule] = {"redis-enterprise-defaults": rules.defaults_rule}
