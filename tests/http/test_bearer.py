"""Bearer access tokens over HTTP, as a platform deployment's IDM takes them (`rsFilter`).

A test scripts a token (`MockIDM.add_token`); requests send it as `Authorization: Bearer` and
act as its subject with its roles; an unknown, revoked or expired one is refused 401 with the
resource server's `invalid_token` challenge (docs/fidelity.md, "Bearer tokens").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from definitions import deploy_definitions

from mockidm import MockIDM
from mockidm.identity import ProcessAccessRule

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"

UNAUTHORIZED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
FORBIDDEN = {"code": 403, "reason": "Forbidden", "message": "Access denied"}
INVALID_TOKEN = ('Bearer realm="no realm", error="invalid_token", error_description="The access '
                 'token provided is expired, revoked, malformed, or invalid for other reasons."')


@pytest.fixture
def mock() -> Iterator[MockIDM]:
    """A served mock with tests/definitions.py's processes (contractorOnboarding, roleRequest)."""
    served = MockIDM()
    deploy_definitions(served.engine)
    with served.serve():
        yield served


def call(mock: MockIDM, method: str, path: str, token: str | None, **kwargs: Any
         ) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, f"{mock.url}/{path}", headers=headers, timeout=10, **kwargs)


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    assert "Set-Cookie" not in response.headers


def test_an_admin_token_runs_the_workflow_calls(mock: MockIDM) -> None:
    mock.add_token("admin-token", "amAdmin", ["openidm-admin", "openidm-authorized"])
    definitions = call(mock, "GET", PD, "admin-token", params={"_queryId": "query-all-ids"})
    assert definitions.status_code == 200
    assert len(definitions.json()["result"]) == 3
    started = call(mock, "POST", PI, "admin-token", params={"_action": "create"},
                   json={"_key": "roleRequest"})
    assert started.status_code == 201, started.text
    instance = call(mock, "GET", f"{PI}/{started.json()['_id']}", "admin-token").json()
    assert instance["startUserId"] == "amAdmin"  # the token's subject, not a known user
    tasks = call(mock, "GET", TI, "admin-token",
                 params={"_queryId": "filtered-query",
                         "processInstanceId": started.json()["_id"]}).json()["result"]
    (task,) = tasks
    claimed = call(mock, "POST", f"{TI}/{task['_id']}", "admin-token",
                   params={"_action": "claim"}, json={"userId": "amAdmin"})
    assert claimed.status_code == 200, claimed.text
    completed = call(mock, "POST", f"{TI}/{task['_id']}", "admin-token",
                     params={"_action": "complete"}, json={})
    assert completed.status_code == 200, completed.text
    ended = call(mock, "GET", f"{PI}/history/{started.json()['_id']}", "admin-token").json()
    assert ended["endTime"] is not None


def test_a_token_answer_sets_no_session_cookie(mock: MockIDM) -> None:
    # The rsFilter checks the token on every request: a cookie would outlive the token.
    mock.add_token("t", "amAdmin", ["openidm-admin"])
    response = call(mock, "GET", PD, "t", params={"_queryId": "query-all-ids"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("sent", ["never-scripted", "KNOWN", "known2"])
def test_an_unknown_token_is_refused_with_the_invalid_token_challenge(mock: MockIDM,
                                                                      sent: str) -> None:
    mock.add_token("known", "amAdmin", ["openidm-admin"])
    assert_invalid_token(call(mock, "GET", PD, sent, params={"_queryId": "query-all-ids"}))


def test_an_expired_token_is_refused_as_an_unknown_one(mock: MockIDM) -> None:
    mock.freeze_time()
    mock.add_token("short", "amAdmin", ["openidm-admin"], expires_in=60)
    query = {"_queryId": "query-all-ids"}
    mock.advance_time(59)
    assert call(mock, "GET", PD, "short", params=query).status_code == 200
    mock.advance_time(1)
    assert_invalid_token(call(mock, "GET", PD, "short", params=query))
    # And so is a write: refused before anything starts.
    assert_invalid_token(call(mock, "POST", PI, "short", params={"_action": "create"},
                              json={"_key": "roleRequest"}))
    everything = requests.get(f"{mock.url}/{PI}", params=query, headers=mock.admin_headers,
                              timeout=10)
    assert everything.json()["result"] == []


def test_a_revoked_token_is_refused(mock: MockIDM) -> None:
    mock.add_token("t", "amAdmin", ["openidm-admin"])
    mock.revoke_token("t")
    assert_invalid_token(call(mock, "GET", PD, "t", params={"_queryId": "query-all-ids"}))
    with pytest.raises(KeyError):
        mock.revoke_token("t")


def test_reset_forgets_the_tokens(mock: MockIDM) -> None:
    mock.add_token("t", "amAdmin", ["openidm-admin"])
    mock.reset()
    assert_invalid_token(call(mock, "GET", PD, "t", params={"_queryId": "query-all-ids"}))


def test_no_credentials_still_get_the_plain_401(mock: MockIDM) -> None:
    response = call(mock, "GET", PD, None, params={"_queryId": "query-all-ids"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("token", ["", "two words", "tab\there"])
def test_a_token_that_cannot_be_sent_is_refused_by_the_facade(mock: MockIDM, token: str) -> None:
    with pytest.raises(ValueError, match="one word"):
        mock.add_token(token, "amAdmin")


def test_scripted_auth_failures_meet_a_token_as_they_meet_a_user(mock: MockIDM) -> None:
    mock.add_token("t", "amAdmin", ["openidm-admin"])
    query = {"_queryId": "query-all-ids"}
    mock.reject_password("amAdmin")  # a token has no password to reject
    assert call(mock, "GET", PD, "t", params=query).status_code == 200
    mock.fail_auth(1)
    refused = call(mock, "GET", PD, "t", params=query)
    assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)
    mock.lock_out("amAdmin")  # "however it authenticates"
    locked = call(mock, "GET", PD, "t", params=query)
    assert (locked.status_code, locked.json()) == (401, UNAUTHORIZED)
    assert mock.auth_faults().locked_out == {"amAdmin": 1}


# --- roles drive access as a user's roles do --------------------------------------------------

def test_a_token_with_the_default_role_is_an_authorized_user(mock: MockIDM) -> None:
    mock.add_token("carol-token", "carol")  # openidm-authorized, as the subject mapping grants
    assert call(mock, "GET", PI, "carol-token",
                params={"_queryId": "query-all-ids"}).json() == FORBIDDEN
    started = call(mock, "POST", PI, "carol-token", params={"_action": "create"},
                   json={"_key": "roleRequest"})
    assert started.status_code == 201, started.text
    with mock.lock:
        assert mock.engine.instance(started.json()["_id"]).start_user == "carol"


def test_a_token_without_openidm_authorized_is_forbidden(mock: MockIDM) -> None:
    mock.add_token("t", "dave", ["reviewer"])
    response = call(mock, "POST", PI, "t", params={"_action": "create"},
                    json={"_key": "roleRequest"})
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize("via", ["token", "password"])
def test_process_access_judges_a_token_as_it_judges_a_user(mock: MockIDM, via: str) -> None:
    mock.set_process_access([ProcessAccessRule("key", "^roleRequest$", "manager")])
    if via == "token":
        mock.add_token("erin-token", "erin", ["openidm-authorized", "manager"])
        send: dict[str, str] = {"Authorization": "Bearer erin-token"}
    else:
        mock.add_user("erin", "pw", ["openidm-authorized", "manager"])
        send = {"X-OpenIDM-Username": "erin", "X-OpenIDM-Password": "pw",
                "X-OpenIDM-NoSession": "true"}

    def post(key: str) -> requests.Response:
        return requests.post(f"{mock.url}/{PI}", params={"_action": "create"},
                             json={"_key": key}, headers=send, timeout=10)

    assert post("roleRequest").status_code == 201
    refused = post("contractorOnboarding")
    assert refused.status_code == 403
    assert refused.json() == FORBIDDEN
    listed = requests.get(f"{mock.url}/endpoint/getprocessesforuser", headers=send, timeout=10)
    assert [p["key"] for p in listed.json()["processes"]] == ["roleRequest"]


def test_a_token_without_the_role_process_access_asks_for_is_refused(mock: MockIDM) -> None:
    mock.set_process_access([ProcessAccessRule("key", "^roleRequest$", "manager")])
    mock.add_token("t", "frank", ["openidm-authorized"])
    refused = call(mock, "POST", PI, "t", params={"_action": "create"},
                   json={"_key": "roleRequest"})
    assert refused.status_code == 403
    assert refused.json() == FORBIDDEN


# --- the journal -----------------------------------------------------------------------------

def test_the_journal_names_the_subject_and_hides_the_token(mock: MockIDM) -> None:
    mock.add_token("secret-token-value", "amAdmin", ["openidm-admin"])
    call(mock, "GET", PD, "secret-token-value", params={"_queryId": "query-all-ids"})
    call(mock, "GET", PD, "wrong-token-value", params={"_queryId": "query-all-ids"})
    accepted, refused = mock.requests()
    assert accepted.user == "amAdmin"
    assert accepted.status == 200
    assert refused.status == 401
    assert refused.user is None
    for exchange in (accepted, refused):
        assert exchange.headers["authorization"] == "********"
        assert "token-value" not in repr(exchange.to_json())
