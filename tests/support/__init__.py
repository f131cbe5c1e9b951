"""Helpers shared by the test suites, in one place (importable as ``support`` because
``pyproject.toml`` puts ``tests/`` on pytest's ``pythonpath``).

- ``process``: the host variables no run may inherit, child environments with default SIGINT
  handling, and bounded reads from a child's pipes.
- ``cli``: the real CLI run in this process as a user runs it, and what it returned.
- ``clock``: a fake clock that moves only when slept on.
- ``emulators``: emulators started for a test and stopped after it.
- ``desired``: flag-file text read into a ``DesiredState``.
- ``configs``: config text more than one suite writes (the kill-switch template).
- ``launchdarkly``: a flag as LaunchDarkly's API returns it, for the client's fakes.
- ``schemas``: every subschema and property of a JSON Schema.
"""
