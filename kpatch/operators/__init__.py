"""The operators kpatch knows, one folder each.

Each ``kpatch/operators/<operator>/`` holds everything about one operator:
``profile.yaml`` (where it keeps images, as data), ``rules.py`` (how it derives
the images no manifest names, as code that follows the operator's own
functions), its release table and its conformance cases. This module only
collects the rule functions by name, for the profiles that switch them on.
"""

from __future__ import annotations

from kpatch.implicit import Rule
from kpatch.operators import cass_operator, k8ssandra_operator, redis_enterprise

RULES: dict[str, Rule] = {
    **cass_operator.RULES,
    **k8ssandra_operator.RULES,
    **redis_enterprise.RULES,
}
