#!/bin/sh
# `make demo`: the main job on the bundled fixtures. For each operator: the
# inventory, then an overlay relocating everything to registry.corp:5000
# (written to a temporary folder, not into the repository), then its review diff.
set -e
KPATCH=${1:-kpatch}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/kpatch-demo.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
for name in cass-operator-v1beta1 cass-operator-v1beta2 k8ssandra-cluster redis-enterprise olm generic-workloads; do
  echo "=================== $name"
  echo "--- kpatch images fixtures/$name --unique"
  "$KPATCH" images "fixtures/$name" --unique
  echo
  echo "--- kpatch relocate fixtures/$name --registry registry.corp:5000 --pull-secret regcred"
  "$KPATCH" relocate "fixtures/$name" --registry registry.corp:5000 \
    --output "$OUT/$name" --pull-secret regcred --pull-policy IfNotPresent
  echo
  echo "--- kpatch diff (the overlay against its base)"
  "$KPATCH" diff "$OUT/$name" --color never || [ $? -eq 1 ]
  echo
done
echo "Overlays generated the same way are kept in overlays/ (make overlays)."
