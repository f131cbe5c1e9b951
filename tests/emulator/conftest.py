"""Fixtures for the emulator's tests: a running emulator, HTTP clients, and the OpenAPI contract.

Every response that reaches a test through the ``http`` client is checked against the contract
on the way: JSON with ``Content-Type: application/json``, and a body valid against the schema the
spec declares for that operation and status (or LaunchDarkly's error shape for the statuses the
spec does not list). The contract is LaunchDarkly's OpenAPI excerpt in ``tests/data/launchdarkly``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from reconciler.emulator import DEV_TOKEN, Emulator, EmulatorConfig
from reconciler.emulator.responses import BETA_MESSAGE
from support.emulators import Emulators

if TYPE_CHECKING:
    import launchdarkly_api

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "launchdarkly" / "openapi-excerpt.json"
SPEC_URI = "urn:launchdarkly:openapi-excerpt"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


class Contract:
    """LaunchDarkly's OpenAPI excerpt, as JSON Schema validators for response bodies."""

    def __init__(self, path: Path) -> None:
        self.doc = json.loads(path.read_text(encoding="utf-8"))
        # OpenAPI 3.0 schemas are close to draft 7 (a $ref's siblings are ignored); the whole
        # document is one resource so that "#/components/schemas/..." refs resolve inside it.
        resource = Resource.from_contents(self.doc, default_specification=DRAFT7)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"), template)
            for template in self.doc["paths"]
        ]

    def validate(self, body: object, schema_name: str) -> None:
        schema = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
        jsonschema.Draft7Validator(schema, registry=self.registry).validate(body)

    def declared_schema(self, method: str, path: str, status: int) -> str | None:
        """The component schema the spec declares for this response, if it declares one."""
        for pattern, template in self._paths:
            if pattern.match(path):
                operation = self.doc["paths"][template].get(method.lower())
                if operation is None:
                    return None
                response = operation["responses"].get(str(status))
                if response is None:
                    return None
                ref: str = response["content"]["application/json"]["schema"]["$ref"]
                return ref.rsplit("/", 1)[-1]
        return None

    def check(self, response: httpx.Response) -> None:
        """Fail unless ``response`` is JSON and valid for its operation and status."""
        assert response.headers.get("content-type") == "application/json", response.headers
        body = json.loads(response.read())
        if body == {"message": BETA_MESSAGE}:
            # The real API's beta 403 has no "code", although ForbiddenErrorRep requires one;
            # the emulator copies the real API (API-NOTES.md).
            assert response.status_code == 403
            return
        name = self.declared_schema(
            response.request.method, response.request.url.path, response.status_code
        )
        if name is not None:
            self.validate(body, name)
        if response.status_code >= 400:
            jsonschema.Draft7Validator(ERROR_SCHEMA).validate(body)


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(SPEC_PATH)


@pytest.fixture
def make_emulator(emulators: Emulators) -> Callable[..., Emulator]:
    """Start emulators (stopped at the end of the test) from config fields or a config.

    ``clock`` and ``log`` are passed to ``Emulator`` itself; the rest build the config.
    """

    def make(config: EmulatorConfig | None = None, **kwargs: Any) -> Emulator:
        options = {k: kwargs.pop(k) for k in ("clock", "log") if k in kwargs}
        if config is None:
            kwargs.setdefault("projects", ("demo", "other"))
            config = EmulatorConfig(**kwargs)
        return emulators.start(config, **options)

    return make


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
def make_client(contract: Contract) -> Iterator[Callable[..., httpx.Client]]:
    """httpx clients that check every response against the contract."""
    clients: list[httpx.Client] = []

    def make(emulator: Emulator, *, token: str | None = DEV_TOKEN, **kwargs: Any) -> httpx.Client:
        headers = {"LD-API-Version": "20240415"}
        if token is not None:
            headers["Authorization"] = token
        headers.update(kwargs.pop("headers", {}))
        client = httpx.Client(
            base_url=emulator.base_url,
            headers=headers,
            trust_env=False,  # no proxies from the environment for loopback
            verify=False,  # plain HTTP; skips loading CA certificates (slow)
            event_hooks={"response": [contract.check]},
            **kwargs,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def http(emu: Emulator, make_client: Callable[..., httpx.Client]) -> httpx.Client:
    return make_client(emu)


BETA = {"LD-API-Version": "beta"}


@pytest.fixture
def beta() -> dict[str, str]:
    return dict(BETA)


@pytest.fixture(scope="session")
def ld() -> ModuleType:
    """LaunchDarkly's official client package, imported by the tests that use it: it takes
    seconds to import (its models build pydantic validators), which every pytest-xdist
    worker would pay as it collects, were it imported at the top of a module."""
    import launchdarkly_api
    import launchdarkly_api.exceptions

    return launchdarkly_api


@pytest.fixture
def ld_clients(
    ld: ModuleType, emu: Emulator
) -> Iterator[tuple[launchdarkly_api.ApiClient, launchdarkly_api.ApiClient]]:
    """LaunchDarkly's official client: one ApiClient for GA calls, one for beta calls.

    The client's default headers override per-call headers, so beta calls need their own client
    whose default ``LD-API-Version`` is ``beta``.
    """
    configuration = ld.Configuration(host=emu.base_url, api_key={"ApiKey": DEV_TOKEN})
    configuration.retries = False
    ga = ld.ApiClient(configuration)
    beta_client = ld.ApiClient(configuration)
    beta_client.default_headers["LD-API-Version"] = "beta"
    yield ga, beta_client
    for client in (ga, beta_client):
        client.rest_client.pool_manager.clear()
