"""`kpatch mirror`: copy every image an install pulls into the private registry.

- ``plan``: the deduplicated (source, destination) pairs, from the inventory and
  the relocation rules ``kpatch relocate`` uses. Pure.
- ``formats``: writers of a plan (plan table, JSON, docker/skopeo scripts, IDMS). Pure.
- ``skopeo``: the one place that runs skopeo; classifies and redacts its errors.
- ``execute``: copies, checks and verifies with skopeo, in parallel, with retries.
- ``archive``: the directory of OCI layouts that carries images across an air gap.
- ``pin``: resolve tags to digests (``--pin-digests``, also used by ``relocate``).
- ``report``: progress lines and the summary table, as strings.
"""
