"""Pieces of ``ld-reconciler.yaml`` text that more than one suite writes."""

from __future__ import annotations

KILL_SWITCH_TEMPLATE = """\
  kill-switch:
    temporary: false
    tags: [kill-switch]
    variations:
      - {value: true, name: Enabled}
      - {value: false, name: Disabled}
    defaults: {onVariation: 0, offVariation: 1}
"""
"""The ``kill-switch`` entry of a config's ``templates:``, indented to go under it."""
