"""The kit's defaults and the release profiles it knows. No third-party imports: the `mockidm`
command builds its parser from these even where `requests` is not installed."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8080/openidm"
DEFAULT_USER = "openidm-admin"
DEFAULT_PASSWORD = "openidm-admin"
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_TIMEOUT = 10.0
URL_ENV = "MOCKIDM_CONTRACT_URL"
USER_ENV = "MOCKIDM_CONTRACT_USER"
PASSWORD_ENV = "MOCKIDM_CONTRACT_PASSWORD"
TOKEN_ENV = "MOCKIDM_CONTRACT_TOKEN"


@dataclass(frozen=True)
class Expectations:
    """Where IDM releases answer differently, what the kit expects of the chosen one."""

    name: str
    # 7+: resource versions are routed: `Content-API-Version` on answers, an unsupported
    # `resource=` version is 404. Up to 6.5 the resource version is ignored (docs/common-rest.md).
    resource_versioning: bool


PROFILES = {p.name: p for p in (Expectations("8.1", resource_versioning=True),
                                Expectations("6.5", resource_versioning=False))}
