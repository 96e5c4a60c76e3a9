"""Editors for documents held in strings, one module per document kind.

An editor turns "move these images" into round-trip edits of the embedded
document, beyond the image fields the locator found (e.g. the registry
settings from which an operator derives images).
"""
