"""The operators kpatch knows, one folder each.

Each ``kpatch/operators/<operator>/`` holds everything about one operator:
``profile.yaml`` (where it keeps images, as data), ``rules.py`` (how it derives
the images no manifest names, as code that follows the operator's own
functions), its release table and its conformance cases. This module only
knows the rules by name, and imports an operator's rules when an install has
a resource they apply to: a pre-commit hook on a plain Deployment never loads
them.
"""

from __future__ import annotations

from importlib import import_module

from kpatch.implicit import Rule
from kpatch.operators import cass_operator, k8ssandra_operator, redis_enterprise

# Rule name -> (operator package, function name in its rules module).
RULE_NAMES: dict[str, tuple[str, str]] = {
    name: (package.__name__, function)
    for package in (cass_operator, k8ssandra_operator, redis_enterprise)
    for name, function in package.RULES.items()
}


def rule_function(name: str) -> Rule:
    """The function behind a rule name, its operator's rules imported on first use."""
    package, function = RULE_NAMES[name]
    found: Rule = getattr(import_module(f"{package}.rules"), function)
    return found
