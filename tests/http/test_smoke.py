def test_create_by_key_starts_the_latest_version(idm):
    response = idm.start({"_key": "contractorOnboarding", "_businessKey": "bk-1"})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["_id", "processInstanceId", "status", "businessKey",
                          "processDefinitionId"]
    assert body["processDefinitionId"].startswith("contractorOnboarding:2:")
