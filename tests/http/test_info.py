"""`info/ping` and `info/version` over HTTP (docs/fidelity.md, "Server information"): IDM's
shapes, the version per profile, and IDM's default access rule for `info/*` (any
authenticated user may read, the anonymous user too; only reads)."""

from __future__ import annotations

import pytest
from idm_client import Idm, ok

import mockidm

PING = "info/ping"
VERSION = "info/version"
UNAUTHORIZED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
FORBIDDEN = {"code": 403, "reason": "Forbidden", "message": "Access denied"}
ANONYMOUS = {"X-OpenIDM-Username": "anonymous", "X-OpenIDM-Password": "anonymous",
             "X-OpenIDM-NoSession": "true"}


def test_ping_answers_active_ready_as_idm(idm: Idm) -> None:
    # The PingIDM install guide's "system-healthcheck" answer, field for field.
    assert ok(idm.request("GET", PING)) == {
        "_id": "", "_rev": "", "shortDesc": "OpenIDM ready", "state": "ACTIVE_READY"}


@pytest.mark.parametrize(("profile", "version"),
                         [("idm", "8.1.0"), ("idm65", "6.5.0"), ("wren", "7.0.0-M4")])
def test_version_names_the_profiles_release(profile: str, version: str,
                                            request: pytest.FixtureRequest) -> None:
    server: Idm = request.getfixturevalue(profile)
    body = ok(server.request("GET", VERSION))
    assert body == {"_id": "version", "productVersion": version, "productBuildDate": "",
                    "productRevision": f"mockidm-{mockidm.__version__}"}


@pytest.mark.parametrize("path", [PING, VERSION])
def test_anonymous_user_may_read_info(idm: Idm, path: str) -> None:
    # access.js: `info/*` for roles "*"; anonymous has only openidm-reg, refused elsewhere.
    assert ok(idm.request("GET", path, auth=False, headers=ANONYMOUS)) == \
        ok(idm.request("GET", path))
    response = idm.request("GET", "endpoint/getprocessesforuser", auth=False,
                           headers=ANONYMOUS)
    assert response.status_code == 403


@pytest.mark.parametrize("path", [PING, VERSION])
def test_a_user_without_credentials_is_401(idm: Idm, path: str) -> None:
    assert idm.request("GET", path, auth=False).json() == UNAUTHORIZED


@pytest.mark.parametrize("path", [PING, VERSION])
@pytest.mark.parametrize(("method", "query", "extra"), [
    ("PUT", "", {"If-Match": "*"}), ("DELETE", "", {}), ("PATCH", "", {}),
    ("POST", "?_action=x", {})])
def test_only_reads_are_allowed(idm: Idm, path: str, method: str, query: str,
                                extra: dict[str, str]) -> None:
    # An update, delete, patch or action, by an admin or by anonymous: the script endpoint
    # refuses it (the mock's 403 for admins is its choice, docs/fidelity.md).
    for headers in ({}, ANONYMOUS):
        response = idm.request(method, path + query, auth=not headers,
                               headers={**headers, **extra}, json=[] if method == "PATCH" else {})
        assert response.status_code == 403, response.text
        assert response.json() == FORBIDDEN


def test_ping_in_the_6_5_profile_is_the_same(idm65: Idm) -> None:
    assert ok(idm65.request("GET", PING, auth=False, headers=ANONYMOUS))["state"] == \
        "ACTIVE_READY"
