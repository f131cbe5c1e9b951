"""The CEL engine, for the tests that need it: skipped where it cannot be installed.

``common-expression-language`` has no wheel for CPython 3.10 (3.11 to 3.13 only), so on
3.10 the package is not installed and every test that runs a policy is skipped, with
the reason the program itself gives: each such module starts with
``pytest.importorskip("cel", reason=REASON)``.
"""

from __future__ import annotations

REASON = (
    "policies need Python 3.11 or newer: the CEL engine (common-expression-language) "
    "has no wheel for 3.10"
)

