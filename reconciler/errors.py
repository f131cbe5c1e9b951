"""The exception tree of ld-reconciler.

Expected failures (a bad file, a bad token, a stale plan, a locked ledger) derive from
``ReconcilerError``: the CLI prints their message as one line and exits 1, without a
traceback. Anything else that escapes is a bug and is reported as "unexpected error"
(exit 3, with the traceback); inside an apply it stops the apply, as a bug should.
Third-party exceptions are translated at the boundary with ``raise ... from e``.

    ReconcilerError
    ├── InputError            a path or option given by the user cannot be used
    ├── ValidationFailed      flag files have findings (carries them all)
    ├── ConfigError           token, base URL or options are inconsistent or unsafe
    ├── LedgerError           the ledger cannot be used
    │   ├── LedgerCorruptError    unreadable, foreign or of an unknown version
    │   └── LedgerLockedError     another apply holds the lock
    ├── StalePlanError        a saved plan no longer matches its inputs or target
    ├── CreateFailed          one create of an apply cannot succeed (the others go on)
    │   └── OutcomeStayedUnknown  every send failed without an answer, and looking found nothing
    └── RemoteError           talking to LaunchDarkly or GitHub failed
        ├── ApiError              LaunchDarkly answered with an error status
        ├── TransportError        no usable answer (connection, timeout, bad body)
        │   └── OutcomeUnknownError   a create was sent but its outcome is not known
        └── GitHubError           GitHub refused a request or could not be reached
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.model import Finding


class ReconcilerError(Exception):
    """An expected failure with a message fit for the user."""


class InputError(ReconcilerError):
    """A path or option given by the user cannot be used."""


class ValidationFailed(ReconcilerError):
    """Flag files have findings; all of them are carried, sorted."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__(f"{len(self.findings)} problem(s) found")


class ConfigError(ReconcilerError):
    """The token, base URL or options are inconsistent or unsafe."""


class LedgerError(ReconcilerError):
    """The ledger cannot be used."""


class LedgerCorruptError(LedgerError):
    """The ledger is unreadable, foreign or of an unknown version; it is never overwritten."""


class LedgerLockedError(LedgerError):
    """Another process holds the ledger's lock."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches its inputs or its target."""


class CreateFailed(ReconcilerError):
    """A create that cannot succeed; the message says why. Apply reports it and goes on."""


class OutcomeStayedUnknown(CreateFailed):
    """Every send of a create failed without a usable answer, and looking found nothing."""


class RemoteError(ReconcilerError):
    """Talking to LaunchDarkly or GitHub failed."""


class ApiError(RemoteError):
    """LaunchDarkly answered with an error status.

    ``message`` has already been scrubbed of secrets by the client.
    """

    def __init__(self, status: int, code: str, message: str, *, method: str, path: str) -> None:
        self.status = status
        self.code = code
        self.api_message = message
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {status} {code}: {message}")


class TransportError(RemoteError):
    """No usable answer: connection failure, timeout, or a malformed response."""


class OutcomeUnknownError(TransportError):
    """A create was sent, but whether it took effect is unknown (timeout, dropped connection)."""


class GitHubError(RemoteError):
    """GitHub refused a request or could not be reached (the sticky plan comment)."""


def went_unanswered(error: BaseException | None) -> bool:
    """Whether a failure means LaunchDarkly gave no usable answer (after retries): a 5xx or a
    429, no connection or no readable response, or a create none of whose sends was answered."""
    if isinstance(error, ApiError):
        return error.status >= 500 or error.status == 429
    return isinstance(error, (TransportError, OutcomeStayedUnknown))
