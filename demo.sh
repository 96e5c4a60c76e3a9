#!/bin/sh
# `make demo`: the main job on the bundled fixtures.
set -e
KPATCH=${1:-kpatch}
for fixture in fixtures/cass-operator-v1beta1 fixtures/cass-operator-v1beta2 \
               fixtures/k8ssandra-cluster fixtures/redis-enterprise fixtures/olm \
               fixtures/workloads; do
  echo "== kpatch images $fixture"
  "$KPATCH" images "$fixture"
  echo
done
