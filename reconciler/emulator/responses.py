"""What the emulator answers: replies, and the API errors that become them.

Every answer, errors included, is a JSON body. Errors use LaunchDarkly's shape
``{"code": ..., "message": ...}``; the one exception, copied from the real API, is the 403
for a beta route called without ``LD-API-Version: beta``, whose body has no ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

JSON_TYPE = "application/json"

BETA_MESSAGE = (
    "This API is in beta. To use it, your request must include the header `LD-API-Version: beta`."
)

Delivery = Literal["send", "drop", "stall"]


class ApiProblem(Exception):
    """An error answer: a status, LaunchDarkly's error ``code`` and a message."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        if self.code is None:
            return {"message": self.message}
        return {"code": self.code, "message": self.message}


def invalid(message: str) -> ApiProblem:
    return ApiProblem(400, "invalid_request", message)


def not_found(message: str) -> ApiProblem:
    return ApiProblem(404, "not_found", message)


def conflict(message: str) -> ApiProblem:
    return ApiProblem(409, "conflict", message)


@dataclass(frozen=True)
class Reply:
    """One answer. ``delivery`` says whether it is sent, or lost by an injected fault."""

    status: int
    body: Mapping[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    delivery: Delivery = "send"
    close: bool = False
    fault: str | None = None
    stall_seconds: float = 0.0

    def encoded(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    @classmethod
    def from_problem(cls, problem: ApiProblem, *, close: bool = False) -> Reply:
        return cls(
            problem.status, problem.body(), tuple(problem.headers.items()), close=close
        )
