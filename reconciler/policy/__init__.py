"""Policies: a platform team's CEL rules for flags and projects (issue 16).

``policy.py`` reads a policy entry of the configuration, ``expression.py`` is the one
module that talks to the CEL library, ``fieldpath.py`` checks and walks ``fieldPath``,
``catalog.py`` compiles every policy once and reports those that cannot work, and
``evaluation.py`` runs them over flags (``subject.py``) and projects, giving findings.
"""
