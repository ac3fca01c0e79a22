"""Who may call the mock: users with passwords and roles, and IDM's process-access rules.

Plain data and the rules over it; the HTTP layer asks it questions.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .profile import Profile

ADMIN = "openidm-admin"
AUTHORIZED = "openidm-authorized"
REGISTRATION = "openidm-reg"


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
    users: dict[str, User] = field(default_factory=dict)
    process_access: list[ProcessAccessRule] = field(default_factory=list)

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
        user = self.users.get(name)
        if user is None or not _same(user.password, password):
            return None
        return user

    def groups_of(self, name: str) -> tuple[str, ...]:
        """The groups a workflow engine that asks IDM finds for a user: the roles of the
        mock's user of that name (none for a name it does not know)."""
        user = self.users.get(name)
        return () if user is None else user.roles

    def is_admin(self, user: User) -> bool:
        return self.profile.role(ADMIN) in user.roles

    def may_see_process(self, user: User, definition: Mapping[str, Any]) -> bool:
        return any(rule.allows(definition, user.roles, self.profile)
                   for rule in self.process_access)

    def to_json(self) -> dict[str, Any]:
        """Users (with their passwords: a snapshot must restore them) and access rules."""
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
