"""Kubernetes-aware semantic diff: a model (this package's ``model``), the
engine that fills it (``engine``), and one report writer per format."""
