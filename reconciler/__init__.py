"""ld-reconciler: a declarative, create-only GitOps reconciler for LaunchDarkly."""

from __future__ import annotations

__version__ = "0.1.0"
