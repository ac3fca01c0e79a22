"""Version profiles: where IDM releases answer differently, the difference lives here as data.

The default is PingIDM 8.1. Each field names one behaviour and says which release does what;
docs/fidelity.md lists the sources and how sure we are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    # Roles carry the `internal/role/` prefix (7+) or are bare names (<= 6).
    role_prefix: str
    # `_queryFilter` on workflow collections: evaluated (7+) or 400 `Unknown query-id` (<= 6).
    query_filter: bool
    # Resource versions are routed (7+): `Content-API-Version` is written and an unsupported
    # `resource=` version is 404. In <= 6 the resource version is ignored.
    resource_versioning: bool
    # Highest protocol minor version accepted for protocol 2 (2.2 is known to 7+ CREST).
    max_protocol_minor: int
    # `execution` and `job` exist only from 7.
    executions_and_jobs: bool
    # getprocessesforuser keeps only the latest version of each key, sorted by name (7+), or
    # lists every version in query-all-ids order (<= 6).
    latest_processes_only: bool
    # A non-admin completing an unknown task: 404 `Task Not Found` (7+); <= 6 fails in the
    # access script (500).
    task_not_found_status: int
    # Query paging (`_pageSize`, `_pagedResultsOffset`, `_pagedResultsCookie`,
    # `_totalPagedResultsPolicy`): honoured (8.1, the mock's choice: what 8.1 does is not
    # public) or validated and ignored (<= 6, the Activiti providers). A user may switch it.
    paging: bool
    # A task ended by completion shows this history `deleteReason`: null (Flowable, 7+: it
    # deletes a completed task without a reason) or "completed" (Activiti, <= 6).
    completed_task_delete_reason: str | None
    # A task that a multi-instance's completion condition cut short shows this history
    # `deleteReason`: "MI_END" (Flowable, 7+: its executions deleted with
    # MultiInstanceActivityBehavior.DELETE_REASON_END) or "deleted" (Activiti, <= 6: the
    # execution's deleteCascade removes its tasks with TaskEntity.DELETE_REASON_DELETED).
    multi_instance_task_delete_reason: str
    # `taskCandidateUser` also finds tasks offered to one of the user's groups (Flowable, 7+,
    # asks IDM for them); <= 6 finds only tasks naming the user (Activiti's own, empty, group
    # tables answer there).
    candidate_user_groups: bool
    # API descriptors (`?_api`, `?_crestapi`) need an access rule (7.3.2, 7.4.2, 7.5.1, 8.0+:
    # the default rules grant them to admins only) or any authenticated user may read them.
    descriptors_need_authorization: bool
    # The `deleteReason` a deleted instance and its open tasks record: OpenIDM's providers pass
    # "Deleted by Openidm" (8.1 unknown, kept); Wren:IDM's port passes "Deleted by Wren:IDM.".
    instance_delete_reason: str = "Deleted by Openidm"
    # Instance reads and queries fill `processVariables` (and an instance read's `tasks` their
    # `taskLocalVariables`) from the engine's variables (Wren:IDM's port), or show `{}` (OpenIDM).
    instance_variables: bool = False
    # `_action=complete` stores its variables on the task, not the process (Wren:IDM's port
    # calls Flowable's complete with localScope=true), or in the process (OpenIDM, the default).
    complete_variables_local: bool = False
    # The message of an unknown query id per resource (`processinstance`, `taskinstance`,
    # `taskinstance/history`), `{}` standing for the id (null for a `_queryFilter`); a resource
    # not listed answers IDM's `Unknown query-id`.
    unknown_query_messages: tuple[tuple[str, str], ...] = ()
    # A task action other than claim and complete: 400 with this message, `{}` standing for
    # the action (OpenIDM: "Unknown action"; Wren:IDM's port names it).
    unknown_task_action_message: str = "Unknown action"
    # Queries (by operationId) that page although `paging` is off, as their provider pages:
    # Wren:IDM's task history pages from `_pagedResultsOffset` (it never reads a cookie back)
    # and counts on any policy but NONE. Choosing paging (`--paging on/off`) replaces it.
    own_paging: frozenset[str] = frozenset()
    # What `info/version` answers as `productVersion`: the release this profile stands for
    # (docs/fidelity.md, "info/version").
    product_version: str = "8.1.0"

    def role(self, name: str) -> str:
        """The name this release gives a built-in role (`openidm-admin` -> its full name)."""
        return name if "/" in name else self.role_prefix + name

    def unknown_query_message(self, resource: str, query_id: str | None) -> str:
        """What this release answers to a query id `resource` does not know."""
        template = dict(self.unknown_query_messages).get(resource)
        if template is None:
            return "Unknown query-id"
        return template.replace("{}", "null" if query_id is None else query_id)


PINGIDM_8_1 = Profile(
    name="8.1",
    role_prefix="internal/role/",
    query_filter=True,
    resource_versioning=True,
    max_protocol_minor=2,
    executions_and_jobs=True,
    latest_processes_only=True,
    task_not_found_status=404,
    paging=True,
    completed_task_delete_reason=None,
    multi_instance_task_delete_reason="MI_END",
    candidate_user_groups=True,
    descriptors_need_authorization=True,
)

IDM_6_5 = Profile(
    name="6.5",
    role_prefix="",
    query_filter=False,
    resource_versioning=False,
    max_protocol_minor=1,
    executions_and_jobs=False,
    latest_processes_only=False,
    task_not_found_status=500,
    paging=False,
    completed_task_delete_reason="completed",
    multi_instance_task_delete_reason="deleted",
    candidate_user_groups=False,
    descriptors_need_authorization=False,
    product_version="6.5.0",
)

# Wren:IDM (WrenSecurity/wrenidm), whose workflow module is its own Flowable port
# (`wrenidm-workflow-flowable`): Flowable's engine behaviours as 8.1, OpenIDM's Common REST
# as 6.5, and the port's own answers (docs/profiles.md lists each with its source).
WREN = Profile(
    name="wren",
    role_prefix="",
    query_filter=False,
    resource_versioning=False,
    max_protocol_minor=1,
    executions_and_jobs=False,
    latest_processes_only=False,
    task_not_found_status=500,
    paging=False,
    completed_task_delete_reason=None,
    multi_instance_task_delete_reason="MI_END",
    candidate_user_groups=True,
    descriptors_need_authorization=False,
    instance_delete_reason="Deleted by Wren:IDM.",
    product_version="7.0.0-M4",  # wrenidm's pom.xml
    instance_variables=True,
    complete_variables_local=True,
    unknown_query_messages=(
        ("processinstance", "Unknown query '{}' to get process instances."),
        ("taskinstance", "Unknown query '{}' to get task instances."),
        ("taskinstance/history", "Unknown query '{}' to get historic task instances."),
    ),
    unknown_task_action_message="Unknown action '{}'.",
    own_paging=frozenset({"queryTaskInstanceHistory"}),
)

PROFILES = {p.name: p for p in (PINGIDM_8_1, IDM_6_5, WREN)}
SUPPORTED_RESOURCE_VERSIONS = ((1, 0),)  # workflow endpoints are resource version 1.0


def get_profile(profile: str | Profile, *, paging: bool | None = None) -> Profile:
    """A release's profile by name; `paging` overrides whether it pages (None: as it does)."""
    if not isinstance(profile, Profile):
        try:
            profile = PROFILES[profile]
        except KeyError:
            raise ValueError(
                f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None
    if paging is None or (paging == profile.paging and not profile.own_paging):
        return profile
    return replace(profile, paging=paging, own_paging=frozenset())
