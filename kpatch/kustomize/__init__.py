"""A built-in renderer for the subset of kustomize that relocation overlays and
typical operator bases use. Anything outside that subset is refused with the
field's name, never rendered wrong (see docs/renderer.md)."""
