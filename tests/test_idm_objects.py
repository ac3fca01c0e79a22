"""The small IDM workflow scripts call: the store's operations as IDM's router answers these
simple cases, the scripted answers, the journal."""
from __future__ import annotations

import pytest

from mockidm.engine.groovy import GroovyError
from mockidm.idm_objects import IdmCallError, IdmObjects


@pytest.fixture
def idm() -> IdmObjects:
    store = IdmObjects()
    store.seed("managed/user", [
        {"_id": "ada", "userName": "ada", "mail": "ada@example.com", "roles": ["a"],
         "logins": 1, "address": {"city": "London"}},
        {"_id": "bob", "userName": "Bob", "mail": "bob@example.com", "roles": []}])
    return store


def call(idm: IdmObjects, name: str, *arguments: object) -> object:
    return idm.facade("i1", "task1").call(name, list(arguments))


def test_create_read_update_delete(idm: IdmObjects) -> None:
    created = call(idm, "create", "managed/user", "cy", {"userName": "cy"})
    # IDM's default configuration makes a new managed user active.
    assert created == {"userName": "cy", "accountStatus": "active", "_id": "cy", "_rev": "1"}
    generated = call(idm, "create", "repo/ui/notification/", None, {"message": "hi"})
    assert len(generated["_id"]) == 36
    assert idm.get(f"repo/ui/notification/{generated['_id']}")["message"] == "hi"
    assert call(idm, "read", "managed/user/nobody") is None  # IDM's read: null, not an error
    updated = call(idm, "update", "managed/user/cy", "1", {"userName": "cy2"})
    assert updated["_rev"] == "2" and "mail" not in updated
    with pytest.raises(IdmCallError) as stale:
        call(idm, "update", "managed/user/cy", "1", {"userName": "cy3"})
    assert stale.value.status == 412
    assert call(idm, "delete", "managed/user/cy", None)["userName"] == "cy2"
    with pytest.raises(IdmCallError) as gone:
        call(idm, "delete", "managed/user/cy", None)
    assert gone.value.status == 404
    with pytest.raises(IdmCallError) as twice:
        call(idm, "create", "managed/user", "ada", {})
    assert twice.value.status == 412


def test_patch_operations(idm: IdmObjects) -> None:
    patched = call(idm, "patch", "managed/user/ada", None, [
        {"operation": "add", "field": "/roles/-", "value": "b"},
        {"operation": "add", "field": "roles", "value": ["c"]},  # adds to a list field
        {"operation": "replace", "field": "mail", "value": "new@example.com"},
        {"operation": "increment", "field": "logins", "value": 2},
        {"operation": "remove", "field": "roles", "value": "a"},
        {"operation": "add", "field": "address/zip", "value": "N1"},
        {"operation": "remove", "field": "/address/city"},
        {"operation": "copy", "from": "mail", "field": "backupMail"},
        {"operation": "move", "from": "backupMail", "field": "oldMail"}])
    assert patched["roles"] == ["b", "c"] and patched["mail"] == "new@example.com"
    assert patched["logins"] == 3 and patched["address"] == {"zip": "N1"}
    assert patched["oldMail"] == "new@example.com" and "backupMail" not in patched
    assert patched["_rev"] == "2"
    with pytest.raises(IdmCallError, match="Unsupported patch operation: transformish"):
        call(idm, "patch", "managed/user/ada", None, [{"operation": "transformish",
                                                       "field": "x"}])


def test_queries(idm: IdmObjects) -> None:
    by_filter = call(idm, "query", "managed/user", {"_queryFilter": 'userName eq "bob"'})
    assert [u["_id"] for u in by_filter["result"]] == ["bob"]  # strings ignore case
    assert by_filter["resultCount"] == 1
    fields = call(idm, "query", "managed/user", {"_queryFilter": "true", "_fields": "mail"})
    assert fields["result"][0] == {"_id": "ada", "_rev": "1", "mail": "ada@example.com"}
    ids = call(idm, "query", "managed/user", {"_queryId": "query-all-ids"})
    assert ids["result"] == [{"_id": "ada", "_rev": "1"}, {"_id": "bob", "_rev": "1"}]
    by_name = call(idm, "query", "managed/user", {"_queryId": "for-userName", "uid": "ada"})
    assert [u["_id"] for u in by_name["result"]] == ["ada"]
    idm.seed("managed/user", [{"_id": "cy", "userName": "cy", "accountStatus": "inactive"}])
    for name, found in (("ada", ["ada"]), ("cy", [])):  # active users only
        credential = call(idm, "query", "managed/user",
                          {"_queryId": "credential-query", "username": name})
        assert [u["_id"] for u in credential["result"]] == found
    with pytest.raises(IdmCallError) as bad:
        call(idm, "query", "managed/user", {"_queryFilter": "userName eq"})
    assert bad.value.status == 400
    with pytest.raises(GroovyError, match="mockidm cannot answer query on managed/user"):
        call(idm, "query", "managed/user", {"_queryId": "my-own-query"})


def test_scripted_answers_and_the_default_email(idm: IdmObjects) -> None:
    assert call(idm, "action", "external/email", "send", {"to": "x"}) == {"status": "OK"}
    idm.answer("sync", {"ok": True}, method="action", action="performAction")
    assert call(idm, "action", "sync", "performAction", {}, {"reconId": "r"}) == {"ok": True}
    idm.answer("system/ldap/*", error=(503, "LDAP is down"))
    with pytest.raises(IdmCallError, match="LDAP is down"):
        call(idm, "read", "system/ldap/account/1")
    idm.answer("managed/user/ada", {"_id": "ada", "scripted": True}, method="read")
    assert call(idm, "read", "managed/user/ada") == {"_id": "ada", "scripted": True}
    with pytest.raises(GroovyError, match="mockidm cannot answer action 'reconcile' on recon"):
        call(idm, "action", "recon", "reconcile")


def test_the_journal_records_every_call_with_its_answer_or_error(idm: IdmObjects) -> None:
    call(idm, "read", "managed/user/ada")
    with pytest.raises(IdmCallError):
        call(idm, "delete", "managed/user/nobody", None)
    read, failed = idm.journal
    assert (read.method, read.resource, read.answer["_id"], read.error) == (
        "read", "managed/user/ada", "ada", None)
    assert (read.instance_id, read.activity_id) == ("i1", "task1")
    assert failed.answer is None and "NotFoundException" in failed.error
    assert [c.method for c in idm.calls(resource="managed/user/*")] == ["read", "delete"]


def test_what_a_script_gets_is_its_own_copy(idm: IdmObjects) -> None:
    user = call(idm, "read", "managed/user/ada")
    user["mail"] = "changed"
    assert idm.get("managed/user/ada")["mail"] == "ada@example.com"
    assert idm.journal[0].answer["mail"] == "ada@example.com"
