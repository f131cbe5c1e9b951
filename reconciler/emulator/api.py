"""The API itself, apart from HTTP framing: one request in, one ``Reply`` out.

Each request passes, in order: injected latency; body size (413); routing (404, 405); injected
5xx and 429 faults; authentication (401); rate limits (429); the beta header (403, flag links
only); the operation (400, 404, 409, 200/201); and last the drop/stall faults, which act after
the operation so that a create is stored even though its response is lost. Any other exception
is a bug: answered 500 (and logged, with its traceback on stderr) rather than left unanswered.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from reconciler.emulator import clone, listing, representation, validation
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.faults import THROTTLE_SECONDS, FaultInjector, FaultPlan
from reconciler.emulator.ratelimit import RateLimiter
from reconciler.emulator.requestlog import RequestLog, RequestRecord
from reconciler.emulator.responses import (
    BETA_MESSAGE,
    JSON_TYPE,
    ApiProblem,
    Reply,
    invalid,
)
from reconciler.emulator.store import Store

FAULT_CODES = {500: "internal_server_error", 502: "bad_gateway", 503: "service_unavailable"}
INTERNAL_ERROR_MESSAGE = "The emulator failed unexpectedly (a bug); its stderr has the traceback"


class Headers(Protocol):
    """Case-insensitive header lookup (``email.message.Message``, or a plain dict in tests)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: Headers
    body: bytes | None = None
    body_error: ApiProblem | None = None
    """Why the body could not be read (too large, bad length); the connection is then closed."""


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    template: str
    methods: tuple[str, ...]
    beta: bool = False


ROUTES = (
    _Route(re.compile(r"/api/v2/flags/([^/]+)"), "/api/v2/flags/{projectKey}", ("GET", "POST")),
    _Route(
        re.compile(r"/api/v2/flags/([^/]+)/([^/]+)"),
        "/api/v2/flags/{projectKey}/{featureFlagKey}",
        ("GET",),
    ),
    _Route(
        re.compile(r"/api/v2/flag-links/projects/([^/]+)/flags/([^/]+)"),
        "/api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}",
        ("GET", "POST"),
        beta=True,
    ),
)


class Api:
    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        *,
        faults: FaultInjector,
        limiter: RateLimiter,
        log: RequestLog,
        clock: Callable[[], float],
        stopping: threading.Event,
    ) -> None:
        self.config = config
        self.store = store
        self._faults = faults
        self._limiter = limiter
        self._log = log
        self._clock = clock
        self._stopping = stopping

    def handle(self, request: Request) -> Reply:
        arrived = self._clock()
        path, _, query = request.target.partition("?")
        route: _Route | None = None
        plan = self._faults.plan()
        if plan.latency_seconds:
            self._stopping.wait(plan.latency_seconds)
        try:
            route, params = _match(request.method, path)
            reply = self._process(request, route, params, query, plan)
        except ApiProblem as problem:
            close = request.body_error is not None
            reply = Reply.from_problem(self._echo(problem, request), close=close)
        except Exception:  # a bug: the client still gets an answer, the log a record
            traceback.print_exc(file=sys.stderr)
            bug = ApiProblem(500, "internal_server_error", INTERNAL_ERROR_MESSAGE)
            reply = Reply.from_problem(bug, close=True)
        self._log.add(
            RequestRecord(
                method=request.method,
                path=path,
                query=query,
                status=reply.status,
                time=arrived,
                route=f"{request.method} {route.template}" if route else None,
                fault=reply.fault,
                retry_header=_retry_header(reply),
            )
        )
        return reply

    def _process(
        self,
        request: Request,
        route: _Route,
        params: list[str],
        query: str,
        plan: FaultPlan,
    ) -> Reply:
        if request.body_error is not None:
            raise request.body_error
        if plan.before is not None:
            return self._injected(plan, request)
        token = request.headers.get("Authorization")
        if token not in self.config.tokens:
            bearer = token is not None and token.lower().startswith("bearer ")
            hint = " (send the token itself, without 'Bearer ')" if bearer else ""
            raise ApiProblem(401, "unauthorized", f"Invalid access token{hint}")
        route_name = f"{request.method} {route.template}"
        decision = self._limiter.admit(route_name)
        if not decision.admitted:
            raise ApiProblem(
                429,
                "rate_limited",
                f"Rate limited on {route_name}; retry after the window resets",
                headers=dict(decision.headers),
            )
        try:
            if route.beta and request.headers.get("LD-API-Version") != "beta":
                raise ApiProblem(403, None, BETA_MESSAGE)
            status, body = self._operate(request, route, params, query)
            reply = Reply(status, body, decision.headers)
        except ApiProblem as problem:
            problem.headers.update(decision.headers)
            reply = Reply.from_problem(self._echo(problem, request))
        if plan.after is not None:
            reply = replace(
                reply,
                delivery=plan.after,
                fault=plan.after,
                close=True,
                stall_seconds=plan.stall_seconds,
            )
        return reply

    def _operate(
        self, request: Request, route: _Route, params: list[str], query: str
    ) -> tuple[int, dict[str, Any]]:
        project = params[0]
        if not self.store.has_project(project):
            raise ApiProblem(404, "not_found", f"Unknown project key {project!r}")
        qs = parse_qs(query, keep_blank_values=True)
        if route.template == "/api/v2/flags/{projectKey}":
            if request.method == "GET":
                return 200, listing.page(project, self.store.all_flags(project), qs)
            source = clone.source_key(qs)
            if source is None:
                spec = validation.flag_body(self._json_body(request))
                return 201, self.store.create_flag(project, spec)
            spec = clone.clone_body(self._json_body(request), source)
            return 201, self.store.clone_flag(project, source, spec)
        flag_key = params[1]
        if not route.beta:
            rep = self.store.get_flag(project, flag_key)
            keys = listing.environment_keys(qs)  # by default, every environment
            return 200, representation.served(rep, keys) if keys else rep
        if request.method == "GET":
            # UNCONFIRMED: the spec lists only 401, 403 and 429 for getFlagLinks; the strict
            # choice is a 404 for an unknown flag (as for creating a link), not an empty list.
            items = self.store.flag_links(project, flag_key)
            links = {"self": representation.link(representation.links_path(project, flag_key))}
            return 200, {"items": items, "_links": links}
        self.store.get_flag(project, flag_key)  # a missing flag is a 404 before a bad body
        link_spec = validation.link_body(self._json_body(request))
        return 201, self.store.create_link(project, flag_key, link_spec)

    def _json_body(self, request: Request) -> object:
        content_type = request.headers.get("Content-Type") or ""
        if content_type.split(";")[0].strip().lower() != JSON_TYPE:
            raise ApiProblem(
                415, "unsupported_media_type", "Send the body with Content-Type: application/json"
            )
        if not request.body:
            raise invalid("request body: required")
        try:
            return json.loads(
                request.body.decode("utf-8"),
                parse_constant=_reject_constant,
                parse_float=_finite_float,
            )
        except (ValueError, RecursionError) as e:
            raise invalid(f"request body: not valid JSON ({e})") from None

    def _injected(self, plan: FaultPlan, request: Request) -> Reply:
        if plan.before == "fail":
            status = plan.fail_status
            problem = ApiProblem(status, FAULT_CODES[status], "Injected fault: server error")
        else:
            if plan.throttle_with_retry_after:
                header = ("Retry-After", str(THROTTLE_SECONDS))
            else:
                reset = math.ceil((self._clock() + THROTTLE_SECONDS) * 1000)
                header = ("X-Ratelimit-Reset", str(reset))
            problem = ApiProblem(
                429, "rate_limited", "Injected fault: rate limited", headers=dict([header])
            )
        return replace(Reply.from_problem(self._echo(problem, request)), fault=plan.before)

    def _echo(self, problem: ApiProblem, request: Request) -> ApiProblem:
        """For tests of secret handling: put the request's token into the error message."""
        token = request.headers.get("Authorization")
        if self.config.echo_token_in_errors and token:
            problem.message += f" (Authorization: {token})"
        return problem


def _retry_header(reply: Reply) -> str | None:
    """For the request log: which header told the client of a 429 when to come back."""
    if reply.status != 429:
        return None
    names = {name for name, _ in reply.headers}
    return next((h for h in ("Retry-After", "X-Ratelimit-Reset") if h in names), None)


def _match(method: str, path: str) -> tuple[_Route, list[str]]:
    for route in ROUTES:
        m = route.pattern.fullmatch(path)
        if m is None:
            continue
        if method not in route.methods:
            raise ApiProblem(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {route.template}",
                headers={"Allow": ", ".join(route.methods)},
            )
        return route, [unquote(g) for g in m.groups()]
    raise ApiProblem(404, "not_found", f"Unknown path {path!r}")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value
