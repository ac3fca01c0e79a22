"""Definitions declared in Python for the HTTP tests: small, stable ids, one key in two versions.

Written for mockidm; not taken from any IDM distribution.
"""

from __future__ import annotations

from mockidm.engine import Engine, FormProperty, ProcessDefinition, UserTask, linear_process

CATEGORY = "mockidm.samples"


def deploy_definitions(engine: Engine) -> list[ProcessDefinition]:
    """Deploy `contractorOnboarding` (versions 1 and 2) and `roleRequest` (version 1)."""
    decision = FormProperty("decision", "Decision", type="enum",
                            values={"approve": "Approve", "reject": "Reject"}, required=True)
    first = linear_process(
        "contractorOnboarding", "Contractor onboarding", category=CATEGORY,
        documentation="A manager approves a new contractor.",
        start_form_properties=[FormProperty("contractorName", "Contractor name", type="string",
                                            required=True),
                               FormProperty("startDate", "Start date", type="date",
                                            date_pattern="dd/MM/yyyy")],
        tasks=[UserTask("managerApproval", "Approve the contractor",
                        candidate_groups=["internal/role/openidm-admin"],
                        form_properties=[decision])])
    second = linear_process(
        "contractorOnboarding", "Contractor onboarding", category=CATEGORY,
        documentation="A manager approves a new contractor, then HR prepares the account.",
        start_form_properties=first.start.form_properties,
        tasks=[UserTask("managerApproval", "Approve the contractor",
                        candidate_groups=["internal/role/openidm-admin"],
                        form_properties=[decision]),
               UserTask("hrSetup", "Prepare the contractor's account", assignee="openidm-admin")])
    role_request = linear_process(
        "roleRequest", "Role request", category=CATEGORY,
        documentation="A user asks for a role; an administrator reviews the request.",
        tasks=[UserTask("reviewRequest", "Review the role request",
                        candidate_users=["openidm-admin"],
                        candidate_groups=["internal/role/openidm-admin"],
                        form_properties=[decision])])
    return (engine.deploy(first, name="contractorOnboarding-v1")
            + engine.deploy([second, role_request], name="samples"))
