"""Flag-file text read into a ``DesiredState``, as the validator reads a file from disk."""

from __future__ import annotations

from reconciler.files.loader import load_text
from reconciler.files.validator import validate_documents
from reconciler.model import DesiredState


def desired_state(text: str, name: str = "flags/web.yaml") -> DesiredState:
    """The state ``text`` declares, read as the file ``name``; it must have no finding."""
    state, findings = validate_documents([load_text(text, name)])
    assert findings == [], [str(f) for f in findings]
    return state
