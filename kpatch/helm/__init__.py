"""Helm installs: the image blocks of a chart's values, and private-registry
overrides for them (``kpatch values``), driven by chart profiles held as data
beside this module (``*.yaml``)."""
