"""The client against mockidm: only the `mockidm` fixture and the `mockidm` marker are used."""

import pytest

from workflow_client import IdmWorkflowClient, TaskTimeout, WorkflowError

ACCESS_REQUEST = "access_request.bpmn20.xml"  # next to this file


@pytest.fixture
def client(mockidm):
    return IdmWorkflowClient(mockidm.url, "openidm-admin", "openidm-admin", poll_interval=0.01)


@pytest.mark.mockidm(definitions=ACCESS_REQUEST)
def test_start_wait_and_complete(mockidm, client):
    instance_id = client.start("accessRequest", business_key="ticket-42", system="payroll")
    task = client.wait_for_task(instance_id, "approveAccess", timeout=2)
    client.complete(task["_id"], approved=True)

    mockidm.assert_called("createProcessInstance", times=1,
                          body={"_key": "accessRequest", "_businessKey": "ticket-42",
                                "system": "payroll"})
    mockidm.assert_called("actOnTaskInstance", query={"_action": "complete"},
                          body={"approved": True})
    assert mockidm.tasks(instance_id) == []  # the process has ended


@pytest.mark.mockidm(definitions="samples")
def test_waits_for_a_task_of_a_sample_workflow(client):
    instance_id = client.start("contractorOnboarding", contractorName="Ann")
    task = client.wait_for_task(instance_id, "managerApproval", timeout=2)
    assert task["processInstanceId"] == instance_id


@pytest.mark.mockidm(definitions=ACCESS_REQUEST)
def test_a_refused_start_raises_the_clients_error(mockidm, client):
    mockidm.fault(operation="createProcessInstance", status=503)
    with pytest.raises(WorkflowError) as raised:
        client.start("accessRequest")
    assert raised.value.status == 503
    mockidm.assert_called("createProcessInstance", times=1, status=503)
    mockidm.assert_not_called("queryTaskInstances")


@pytest.mark.mockidm(definitions=ACCESS_REQUEST)
def test_polling_rides_out_a_busy_server(mockidm, client):
    mockidm.fault(operation="queryTaskInstances", status=503, nth=1)
    instance_id = client.start("accessRequest")
    assert client.wait_for_task(instance_id, "approveAccess", timeout=2)
    mockidm.assert_called("queryTaskInstances", times=2)


@pytest.mark.mockidm(definitions=ACCESS_REQUEST)
def test_waiting_for_a_task_that_never_comes_times_out(client):
    instance_id = client.start("accessRequest")
    with pytest.raises(TaskTimeout):
        client.wait_for_task(instance_id, "noSuchTask", timeout=0.1)


def test_an_unknown_process_is_the_servers_404(client):
    with pytest.raises(WorkflowError) as raised:
        client.start("accessRequest")  # nothing is deployed in this test
    assert raised.value.status == 404


@pytest.mark.mockidm(definitions=ACCESS_REQUEST,
                     users=[{"name": "alice", "password": "Passw0rd",
                             "roles": ["openidm-authorized"]}])
def test_starts_as_the_configured_user(mockidm):
    alice = IdmWorkflowClient(mockidm.url, "alice", "Passw0rd")
    alice.start("accessRequest")
    mockidm.assert_called("createProcessInstance", user="alice")


@pytest.mark.mockidm(definitions=ACCESS_REQUEST)
def test_a_wrong_password_is_refused(mockidm):
    with pytest.raises(WorkflowError) as raised:
        IdmWorkflowClient(mockidm.url, "openidm-admin", "wrong").start("accessRequest")
    assert raised.value.status == 401
