"""Who may call the mock: users with passwords and roles, and IDM's process-access rules.

Plain data and the rules over it; the HTTP layer asks it questions. Internal users live
here; managed users are `managed/user` objects of the IDM objects (`idm_objects.py`), which
`State` hands the identity as `managed`: a user name that is no internal user is looked up
there by userName, as IDM's MANAGED_USER authentication module queries `managed/user`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .profile import Profile

ADMIN = "openidm-admin"
AUTHORIZED = "openidm-authorized"
REGISTRATION = "openidm-reg"
# Where IDM's internal roles live: an `authzRoles` reference to one names a role.
INTERNAL_ROLES = "internal/role/"
# The roles IDM's MANAGED_USER module gives every managed user: its defaultUserRoles in 7+
# (6.5's onCreateUser.js puts the same role in a new user's authzRoles instead).
MANAGED_USER_ROLES = (AUTHORIZED,)


class ManagedUsers(Protocol):
    """Where the managed users are: the `managed/user` objects, by userName."""

    def managed_users_named(self, user_name: str) -> list[dict[str, Any]]: ...

    def managed_users(self) -> list[dict[str, Any]]: ...


def managed_user_object(user_name: str, password: str, authz_roles: Iterable[str]
                        ) -> dict[str, Any]:
    """A `managed/user` object as a client creates one (the store adds IDM's defaults): its
    id is the user name; each of `authz_roles` is a reference to an internal role (a bare
    name) or to the path given."""
    return {"_id": user_name, "userName": user_name, "password": password,
            "authzRoles": [{"_ref": role if "/" in role else INTERNAL_ROLES + role}
                           for role in authz_roles]}


@dataclass
class User:
    name: str
    password: str
    roles: tuple[str, ...]

    def __repr__(self) -> str:  # never show the password
        return f"User(name={self.name!r}, roles={self.roles!r})"


@dataclass(frozen=True)
class ProcessAccessRule:
    """One `workflowAccess` entry of process-access.json."""

    property: str
    matches: str  # a JavaScript regex, applied unanchored (String.prototype.match)
    requires_role: str

    def allows(self, definition: Mapping[str, Any], roles: Iterable[str], profile: Profile) -> bool:
        value = definition.get(self.property)
        return (profile.role(self.requires_role) in roles and value is not None
                and re.search(self.matches, str(value)) is not None)


@dataclass
class Identity:
    profile: Profile
    users: dict[str, User] = field(default_factory=dict)  # the internal users
    process_access: list[ProcessAccessRule] = field(default_factory=list)
    managed: ManagedUsers | None = None  # the managed users (not in to_json: theirs)

    @classmethod
    def default(cls, profile: Profile) -> Identity:
        """IDM's out-of-the-box users and its default process-access.json."""
        identity = cls(profile)
        identity.add_user(ADMIN, ADMIN, [ADMIN, AUTHORIZED])
        identity.add_user("anonymous", "anonymous", [REGISTRATION])
        identity.process_access = [ProcessAccessRule("_id", ".*", AUTHORIZED),
                                   ProcessAccessRule("_id", ".*", ADMIN)]
        return identity

    def add_user(self, name: str, password: str, roles: Iterable[str] = (AUTHORIZED,)) -> User:
        user = User(name, password, tuple(self.profile.role(r) for r in roles))
        self.users[name] = user
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        # An internal user first, at the cost of one lookup: IDM's openidm-admin and
        # anonymous are STATIC_USER modules, which it tries before MANAGED_USER.
        user = self.users.get(name)
        if user is not None and _same(user.password, password):
            return user
        managed = self.managed_user(name)
        if managed is not None and _same(managed.password, password):
            return managed
        return None

    def user(self, name: str) -> User | None:
        """The internal user of that name, else the managed user who logs in with it."""
        user = self.users.get(name)
        return user if user is not None else self.managed_user(name)

    def managed_user(self, user_name: str) -> User | None:
        """The managed user IDM's `credential-query` finds for this user name (`userName`
        equal and `accountStatus` active, exactly one: IDM refuses an ambiguous one), with
        the roles IDM gives: openidm-authorized and one per `authzRoles` reference. None
        without one, or when it has no password to log in with."""
        if self.managed is None:
            return None
        found = [o for o in self.managed.managed_users_named(user_name)
                 if o.get("accountStatus") == "active"]
        if len(found) != 1 or not isinstance(found[0].get("password"), str):
            return None
        return User(user_name, found[0]["password"], self.managed_roles(found[0]))

    def managed_roles(self, managed_user: Mapping[str, Any]) -> tuple[str, ...]:
        roles = [self.profile.role(r) for r in MANAGED_USER_ROLES]
        references = managed_user.get("authzRoles")
        for reference in references if isinstance(references, list) else ():
            path = reference.get("_ref") if isinstance(reference, Mapping) else None
            if not isinstance(path, str):
                continue
            role = (self.profile.role(path.removeprefix(INTERNAL_ROLES))
                    if path.startswith(INTERNAL_ROLES) else path)
            if role not in roles:
                roles.append(role)
        return tuple(roles)

    def all_users(self) -> list[User]:
        """The internal users in the order added, then the managed users who can log in."""
        managed = [] if self.managed is None else self.managed.managed_users()
        names = [o["userName"] for o in managed
                 if isinstance(o.get("userName"), str) and o["userName"] not in self.users]
        return [*self.users.values(),
                *(u for u in map(self.managed_user, dict.fromkeys(names)) if u is not None)]

    def groups_of(self, name: str) -> tuple[str, ...]:
        """The groups a workflow engine that asks IDM finds for a user: the roles of the
        mock's user of that name (none for a name it does not know)."""
        user = self.user(name)
        return () if user is None else user.roles

    def is_admin(self, user: User) -> bool:
        return self.profile.role(ADMIN) in user.roles

    def may_see_process(self, user: User, definition: Mapping[str, Any]) -> bool:
        return any(rule.allows(definition, user.roles, self.profile)
                   for rule in self.process_access)

    def to_json(self) -> dict[str, Any]:
        """Internal users (with their passwords: a snapshot must restore them) and access
        rules; the managed users are in the IDM objects' part of a snapshot."""
        return {
            "users": [{"name": u.name, "password": u.password, "roles": list(u.roles)}
                      for u in self.users.values()],
            "processAccess": self.process_access_json(self.process_access),
        }

    @classmethod
    def from_json(cls, profile: Profile, data: Mapping[str, Any]) -> Identity:
        identity = cls(profile)
        for user in data["users"]:
            identity.add_user(user["name"], user["password"], user["roles"])
        identity.process_access = cls.parse_process_access(data["processAccess"])
        return identity

    @staticmethod
    def process_access_json(rules: Iterable[ProcessAccessRule]) -> dict[str, Any]:
        """The JSON of a process-access.json file with these rules."""
        return {"workflowAccess": [
            {"propertiesCheck": {"property": r.property, "matches": r.matches,
                                 "requiresRole": r.requires_role}}
            for r in rules]}

    @staticmethod
    def parse_process_access(document: Mapping[str, Any]) -> list[ProcessAccessRule]:
        """Rules from the JSON of a process-access.json file."""
        rules = []
        for entry in document.get("workflowAccess", []):
            check = entry["propertiesCheck"]
            rules.append(ProcessAccessRule(check["property"], check["matches"],
                                           check["requiresRole"]))
        return rules


def _same(a: str, b: str) -> bool:
    # Constant time: how long a refusal takes says nothing about the password.
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"),
                               b.encode("utf-8", "surrogateescape"))
