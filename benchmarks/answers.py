"""Records what a mockidm server answers to a fixed, broad set of requests, to compare two
checkouts (before and after a refactor) byte for byte.

    python benchmarks/answers.py record --checkout DIR --out FILE.json
    python benchmarks/answers.py compare A.json B.json

`record` starts `python -m mockidm serve` from DIR (PYTHONPATH=DIR, cwd=DIR) on 127.0.0.1 and a
free port, once per profile (8.1, then 6.5), and sends the requests below: each ordinary and raw
request twice in a row (the second meets any cache), then the journal, problems and snapshot
as the admin API gives them, then a few bodies that break them (and those reads once more),
then a scripted admin session that starts with a reset (faults, auth faults, clock, users,
process access, inline BPMN, reset, restore) with the requests it affects, then the journal and
the snapshot once more. It talks HTTP and runs the CLI only, never imports mockidm, so it works
on any version of the code.

What varies from run to run is normalised, and nothing else: the Date and Server headers, the
free port, session tokens (their claims are kept, their times and signature are not) and
timestamps near the time of the run and durations under 100 s (a frozen clock's dates,
and the durations it measures, are kept as they are). Two records
of the same code compare identical; `compare` prints every difference and exits 1 if any.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PROFILES = ("8.1", "6.5")
DEFAULT_PYTHON = "/work/venv/bin/python"
FORMAT = 1
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0

Body = bytes | dict[str, Any] | list[Any] | None

# --- the requests ---------------------------------------------------------------------------

PD = "/openidm/workflow/processdefinition"
PI = "/openidm/workflow/processinstance"
PIH = "/openidm/workflow/processinstance/history"
TI = "/openidm/workflow/taskinstance"
TIH = "/openidm/workflow/taskinstance/history"
EX = "/openidm/workflow/execution"
ALL = "_queryId=query-all-ids"
FQ = "_queryId=filtered-query"
CREATE = f"{PI}?_action=create"
ADMIN_API = "/__mockidm"
JSON_TYPE = "application/json"

# Who a request authenticates as: the credential headers each name adds.
CREDENTIALS: dict[str, dict[str, str]] = {
    "admin": {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin"},
    "admin-nosession": {"X-OpenIDM-Username": "openidm-admin",
                        "X-OpenIDM-Password": "openidm-admin", "X-OpenIDM-NoSession": "true"},
    "none": {},
    "wrong-password": {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "nope"},
    "unknown-user": {"X-OpenIDM-Username": "ghost", "X-OpenIDM-Password": "ghost"},
    "anonymous": {"X-OpenIDM-Username": "anonymous", "X-OpenIDM-Password": "anonymous"},
    "rfc5987": {"X-OpenIDM-Username": "UTF-8''openidm%2Dadmin",
                "X-OpenIDM-Password": "openidm-admin"},
    "basic": {"Authorization": "Basic b3BlbmlkbS1hZG1pbjpvcGVuaWRtLWFkbWlu"},
    "basic-wrong": {"Authorization": "Basic b3BlbmlkbS1hZG1pbjp4"},  # openidm-admin:x
    "basic-garbled": {"Authorization": "Basic !!!not-base64"},
    "cookie": {"Cookie": "session-jwt=<<cookie>>"},
    "cookie-csrf": {"Cookie": "session-jwt=<<cookie>>", "X-Requested-With": "XMLHttpRequest"},
    "cookie-garbage": {"Cookie": "session-jwt=abc.def.ghi"},
    "alice": {"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": "secret",
              "X-OpenIDM-NoSession": "true"},
    "bob": {"X-OpenIDM-Username": "bob", "X-OpenIDM-Password": "pw",
            "X-OpenIDM-NoSession": "true"},
    "late-cookie": {"Cookie": "session-jwt=<<late-cookie>>"},
}


@dataclass(frozen=True)
class Ask:
    """One HTTP request. `<<name>>` in the target, headers or body is replaced by a value an
    earlier answer gave (`save`: name -> a dotted path into its JSON body, `@cookie` for its
    session cookie, `@body` for the whole body)."""

    method: str
    target: str
    body: Body = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "admin"
    save: dict[str, str] = field(default_factory=dict)
    twice: bool = True


def ask(method: str, target: str, body: Body = None, auth: str = "admin", save: dict[str, str]
        | None = None, twice: bool = True, **headers: str) -> Ask:
    """An Ask; header names are given with `_` for `-` (If_Match -> If-Match)."""
    return Ask(method, target, body, {name.replace("_", "-"): value for name, value in
                                      headers.items()}, auth, save or {}, twice)


def admin(method: str, path: str, body: Body = None, save: dict[str, str] | None = None) -> Ask:
    """A call of the admin API, made once."""
    headers = {"Content-Type": JSON_TYPE} if isinstance(body, bytes) else {}
    return Ask(method, ADMIN_API + path, body, headers, "none", save or {}, twice=False)


def create_with(body: bytes) -> Ask:
    """A create of a process instance with these exact JSON bytes."""
    return ask("POST", CREATE, body, Content_Type=JSON_TYPE)


ROLE_REQUEST = {"_key": "roleRequest"}
RAW_CREATE = b'{"_key":"roleRequest"}'

# Ordinary requests, each sent twice in a row. The first answers set the ids used later.
REQUESTS: list[Ask] = [
    # --- definitions, and the ids the rest uses
    ask("GET", f"{PD}?{ALL}", save={"def1": "result.0._id", "def2": "result.1._id",
                                    "cookie": "@cookie"}),
    ask("GET", f"{PD}?{FQ}&key=contractorOnboarding"),
    ask("GET", f"{PD}?{FQ}&keyLike=contr%25"),
    ask("GET", f"{PD}?{FQ}&version=1"),
    ask("GET", f"{PD}?{FQ}&name=Role%20request&category=https://mockidm.dev/samples"),
    ask("GET", f"{PD}/<<def2>>"),
    ask("GET", f"{PD}/<<def2>>/taskdefinition?{ALL}"),
    ask("GET", f"{PD}/<<def2>>/taskdefinition/managerApproval"),
    ask("GET", f"{PD}/<<def2>>/taskdefinition/nope"),
    ask("GET", f"{PD}/nope:1:1"),
    # --- API versions
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="resource=1.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=2.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=2.1,resource=1.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=2.2"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=1.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=3.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="resource=9.0"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="mockidm"),
    ask("GET", f"{PD}?{ALL}", Accept_API_Version="protocol=2.1,,resource=1.0"),
    ask("POST", PI, ROLE_REQUEST, Accept_API_Version="protocol=1.0"),
    ask("POST", PI, ROLE_REQUEST),
    # --- process instances: create by key, by definition id, with a business key
    ask("POST", CREATE, {"_key": "contractorOnboarding", "_businessKey": "order-42",
                         "contractorName": "Ada"}, save={"inst": "_id"}),
    ask("POST", CREATE, {"_key": "contractorOnboarding"}),
    ask("POST", CREATE, {"_processDefinitionId": "<<def1>>", "_key": "roleRequest"}),
    ask("POST", CREATE, {"_key": "roleRequest", "_businessKey": "role-7"},
        save={"role": "_id"}),
    ask("POST", CREATE, {"_key": "accountActivation", "_businessKey": "act-1",
                         "email": "a@example.com"}, save={"activation": "_id"}),
    ask("POST", CREATE, {"_key": "nope"}),
    ask("POST", CREATE, {"_processDefinitionId": "x:9:9"}),
    ask("POST", CREATE, {}),
    ask("POST", CREATE, {"contractorName": "only variables"}),
    ask("POST", CREATE, {"_key": 5}),
    ask("POST", f"{PI}?_action=CREATE", ROLE_REQUEST),
    ask("POST", f"{PI}/?_action=create", ROLE_REQUEST),
    ask("POST", f"{PI}?_action=bogus", {}),
    # --- content types
    ask("POST", CREATE, RAW_CREATE, Content_Type="text/plain"),
    ask("POST", CREATE, RAW_CREATE, Content_Type="Application/JSON ; charset=utf-8"),
    ask("POST", CREATE, RAW_CREATE, Content_Type="multipart/form-data; boundary=x"),
    ask("POST", CREATE, RAW_CREATE),
    ask("GET", f"{PD}?{ALL}", Content_Type="text/plain"),
    # --- JSON edge cases
    create_with(b'{"_key":'),
    create_with(b'{"_key":"roleRequest","x":NaN}'),
    create_with(b'{"_key":"roleRequest","x":-Infinity}'),
    create_with(b'\xef\xbb\xbf{"_key":"roleRequest"}'),
    create_with(b'{"_key":\x0c"roleRequest"}'),
    create_with(b'{"_key":"roleRequest","n":123456789012345678901234567890}'),
    create_with(b'{"_key":"roleRequest","s":"\xff"}'),
    create_with(b'{"_key":"roleRequest"} x'),
    create_with(b'{}{}'),
    create_with(b""),
    create_with(b"null"),
    create_with(b'["roleRequest"]'),
    create_with(b'"roleRequest"'),
    create_with(b'{"_key":"nope","_key":"roleRequest"}'),
    create_with(b"[" * 3000 + b"]" * 3000),
    # --- conditional headers
    ask("GET", f"{PD}/<<def2>>", If_Match="*"),
    ask("GET", f"{PD}/<<def2>>", If_None_Match="*"),
    ask("GET", f"{PD}/<<def2>>", If_None_Match='"1"'),
    ask("GET", f"{PD}?{ALL}", If_None_Match='"1"'),
    ask("GET", f"{PI}?_queryExpression=select", If_None_Match='"1"'),
    ask("GET", f"{PD}/<<def2>>", If_Modified_Since="Thu, 01 Jan 2026 00:00:00 GMT"),
    ask("GET", f"{PD}/<<def2>>", If_Unmodified_Since="Thu, 01 Jan 2026 00:00:00 GMT"),
    ask("POST", CREATE, ROLE_REQUEST, If_Match="*"),
    ask("POST", CREATE, ROLE_REQUEST, If_None_Match="*"),
    # --- tasks: query, read, update, claim, complete
    ask("GET", f"{TI}?{FQ}&processInstanceId=<<inst>>", save={"task": "result.0._id"}),
    ask("GET", f"{TI}?{FQ}&processInstanceId=<<role>>",
        save={"rtask1": "result.0._id", "rtask2": "result.1._id"}),
    ask("GET", f"{TI}?{ALL}"),
    ask("GET", f"{TI}?{FQ}&taskCandidateGroup=internal/role/openidm-admin,openidm-admin"),
    ask("GET", f"{TI}?{FQ}&taskCandidateUser=openidm-admin"),
    ask("GET", f"{TI}?{FQ}&unassigned=true&_sortKeys=-priority,name"),
    ask("GET", f"{TI}?{ALL}&_sortKeys=bogus"),
    ask("GET", f"{TI}/<<task>>"),
    ask("GET", f"{TI}/<<task>>?_fields=name,/processVariables~1x,_rev"),
    ask("PUT", f"{TI}/<<task>>", {"assignee": "openidm-admin"}),
    ask("PUT", f"{TI}/<<task>>", {"assignee": "openidm-admin"}, If_None_Match="*"),
    ask("PUT", f"{TI}/<<task>>", {"assignee": "openidm-admin"}, If_None_Match="abc"),
    ask("PUT", f"{TI}/<<task>>", b'{"assignee":"openidm-admin"}', If_Match="*"),
    ask("PUT", f"{TI}/<<task>>", b"", If_Match="*", Content_Type=JSON_TYPE),
    ask("PUT", f"{TI}/<<task>>", ["openidm-admin"], If_Match="*"),
    ask("PUT", f"{TI}/<<task>>", {"owner": "x", "description": "d"}, If_Match='"1"'),
    ask("PUT", f"{TI}/<<task>>", {"assignee": None},
        Accept_API_Version="protocol=1.0"),
    ask("POST", f"{TI}/<<task>>", {"assignee": "x"}, X_HTTP_Method_Override="PUT", If_Match="*"),
    ask("POST", f"{TI}/<<task>>?_action=claim", {"userId": "openidm-admin"}),
    ask("POST", f"{TI}/<<rtask1>>?_action=claim", {}),
    ask("POST", f"{TI}/<<rtask1>>?_action=Claim", {"userId": "openidm-admin"}),
    ask("POST", f"{TI}/<<task>>?_action=bogus", {}),
    ask("POST", f"{TI}/<<task>>?_action=complete", {"decision": "approve"}),
    ask("POST", f"{TI}/<<rtask1>>?_action=complete", b"", Content_Type=JSON_TYPE),
    ask("POST", f"{TI}/<<rtask2>>?_action=complete", {"managerDecision": "approve"}),
    ask("POST", f"{TI}/999?_action=complete", {}),
    ask("DELETE", f"{TI}/999"),
    ask("GET", f"{TIH}?{ALL}"),
    ask("GET", f"{TIH}?{FQ}&taskId=<<task>>&finished=true"),
    ask("GET", f"{TIH}?{FQ}&processInstanceId=<<role>>&deleteReason=completed"),
    ask("GET", f"{TIH}/<<task>>"),
    # --- instance queries, reads, history
    ask("GET", f"{PI}?{ALL}"),
    ask("GET", f"{PI}?{FQ}&processInstanceBusinessKey=order-42"),
    ask("GET", f"{PI}?{FQ}&businessKey=order-42"),
    ask("GET", f"{PI}?{FQ}&var-contractorName=Ada"),
    ask("GET", f"{PI}?{FQ}&involvedUserId=openidm-admin&processDefinitionKey=roleRequest"),
    ask("GET", f"{PI}?{FQ}&startUserId=openidm-admin&_sortKeys=-processInstanceBusinessKey"),
    ask("GET", f"{PI}?{ALL}&_sortKeys=startTime,,endTime"),
    ask("GET", f"{PI}?{ALL}&_sortKeys=bogus"),
    ask("GET", f"{PI}/<<inst>>"),
    ask("GET", f"{PI}/999"),
    ask("GET", f"{PIH}?{ALL}"),
    ask("GET", f"{PIH}?{FQ}&finished=true"),
    ask("GET", f"{PIH}?{FQ}&unfinished=true&processInstanceBusinessKey=act-1"),
    ask("GET", f"{PIH}/<<inst>>"),
    ask("GET", f"{PIH}/<<role>>"),
    ask("GET", PIH),
    # --- executions, messages, signals, jobs
    ask("GET", f"{EX}?_queryFilter=true"),
    ask("GET", f"{EX}?{FQ}&processInstanceId=<<activation>>"),
    ask("GET", f"{EX}?{FQ}&messageName=activationConfirmed"),
    ask("GET", f"{EX}?_queryFilter=/activityId%20eq%20%22x%22"),
    ask("POST", f"{EX}?_action=message",
        {"executionId": "<<activation>>", "messageName": "nope"}),
    ask("POST", f"{EX}?_action=message",
        {"executionId": "<<activation>>", "messageName": "activationConfirmed",
         "processVariables": {"confirmed": True}}),
    ask("POST", f"{EX}?_action=signal", {"signalName": "alarm"}),
    ask("POST", f"{EX}?_action=trigger", {"executionId": "999"}),
    ask("POST", f"{EX}?_action=bogus", {}),
    ask("GET", "/openidm/workflow/job?_queryFilter=true"),
    # --- helper endpoints
    ask("GET", "/openidm/endpoint/getprocessesforuser"),
    ask("GET", "/openidm/endpoint/gettasksview?_queryId=gettasksview&userId=openidm-admin"),
    ask("GET", "/openidm/endpoint/gettasksview?_queryId=gettasksview&viewType=assignee"),
    ask("POST", "/openidm/endpoint/getprocessesforuser", {}),
    # --- reserved and repeated parameters, paging, _fields, _prettyPrint, _queryFilter
    ask("GET", f"{PI}?_QUERYID=query-all-ids"),
    ask("GET", f"{PI}?_queryId=QUERY-ALL-IDS"),
    ask("GET", f"{PI}?_queryId=nope"),
    ask("GET", f"{PD}?{ALL}&_queryId=query-all-ids"),
    ask("POST", f"{PI}?_action=create&_action=create", ROLE_REQUEST),
    ask("GET", f"{PD}/<<def2>>?_foo=1"),
    ask("GET", f"{PI}?{ALL}&_foo=1&plain=2"),
    ask("GET", f"{PI}?{ALL}&_queryFilter=true"),
    ask("GET", f"{PI}?_action=create"),
    ask("GET", f"{PD}?{ALL}&_pageSize=abc"),
    ask("GET", f"{PD}?{ALL}&_pagedResultsOffset=-1"),
    ask("GET", f"{PD}?{ALL}&_pageSize=2&_pagedResultsOffset=1&_totalPagedResultsPolicy=EXACT"),
    ask("GET", f"{PI}?{ALL}&_pagedResultsOffset=1&_pagedResultsCookie=abc"),
    ask("GET", f"{PD}?{ALL}&_totalPagedResultsPolicy=SOMETIMES"),
    ask("GET", f"{PD}/<<def2>>?_fields=name"),
    ask("GET", f"{PD}/<<def2>>?_fields=na~2me"),
    ask("GET", f"{PD}/<<def2>>?_fields=/properties~0x~1y,version&_prettyPrint=true"),
    ask("GET", f"{TI}?{ALL}&_fields=_id,processInstanceId"),
    ask("GET", f"{PD}/<<def2>>?_prettyPrint=true"),
    ask("GET", f"{PD}?{FQ}&key=none&_prettyPrint=true"),
    ask("GET", f"{PD}/<<def2>>?_prettyPrint=yes"),
    ask("GET", f"{PD}?_queryFilter=true"),
    ask("GET", f"{PD}?_queryFilter=name%20eq"),
    ask("GET", f"{PI}?_queryFilter=/businessKey%20eq%20%22ORDER-42%22"),
    ask("GET", f"{PD}?_queryFilter=/key%20sw%20%22contr%22%20and%20!(/version%20eq%201)"),
    ask("GET", f"{PD}?_queryFilter=/a~1b%20eq%20%22x%22%20or%20/c~0d%20pr"),
    ask("GET", f"{PD}?_queryFilter=/x~2%20eq%201"),
    ask("GET", f"{TI}?_queryFilter=/priority%20ge%2050&_fields=name"),
    # --- credentials
    ask("GET", f"{PD}?{ALL}", auth="none"),
    ask("GET", f"{PD}?{ALL}", auth="wrong-password"),
    ask("GET", f"{PD}?{ALL}", auth="unknown-user"),
    ask("GET", f"{PD}?{ALL}", auth="anonymous"),
    ask("GET", f"{PD}?{ALL}", auth="rfc5987"),
    ask("GET", f"{PD}?{ALL}", auth="basic"),
    ask("GET", f"{PD}?{ALL}", auth="basic-wrong"),
    ask("GET", f"{PD}?{ALL}", auth="basic-garbled"),
    ask("GET", f"{PD}?{ALL}", auth="cookie"),
    ask("GET", f"{PD}?{ALL}", auth="cookie-garbage"),
    ask("GET", f"{PD}?{ALL}", auth="admin-nosession"),
    ask("POST", CREATE, ROLE_REQUEST, auth="cookie"),
    ask("POST", CREATE, ROLE_REQUEST, auth="cookie-csrf"),
    ask("POST", CREATE, ROLE_REQUEST, auth="anonymous"),
    # --- unknown paths and methods, collection / instance mismatches
    ask("GET", "/openidm/workflow/foo"),
    ask("GET", f"/openidm/workflow//processinstance?{ALL}"),
    ask("GET", f"/openidm/workflow/processInstance?{ALL}"),
    ask("GET", "/openidm/managed/user?_queryFilter=true"),
    ask("GET", "/openidm/"),
    ask("GET", "/elsewhere/openidm"),
    ask("OPTIONS", PI),
    ask("TRACE", PI),
    ask("HEAD", f"{PD}/<<def2>>"),
    ask("FOO", PI),
    ask("PATCH", f"{PI}/<<inst>>", [{"operation": "replace", "field": "/x", "value": 1}]),
    ask("PATCH", f"{PI}/<<inst>>", b'[{"operation":"replace","field":"/x","value":1}]'),
    ask("POST", f"{PD}/<<def2>>", None, X_HTTP_Method_Override="GET"),
    ask("GET", PI),
    ask("DELETE", PI),
    ask("PUT", TI, {"assignee": "x"}, If_Match="*"),
    ask("GET", f"{PD}/<<def2>>?{ALL}"),
    ask("POST", f"{TI}/<<task>>", {"assignee": "x"}),
    # --- deletes (last: they change what the queries above see)
    ask("DELETE", f"{PI}/<<role>>", Content_Type="text/plain"),
    ask("POST", f"{PI}/<<role>>", None, X_HTTP_Method_Override="DELETE"),
    ask("DELETE", f"{PIH}/<<inst>>"),
    ask("DELETE", f"{PD}/<<def1>>"),
]

# Bodies the mock accepts but then cannot write back as JSON: a lone surrogate and a float
# beyond double range become variables that break the journal, snapshots and the task view.
# Sent after the journal and snapshot of the requests above are read; the admin session resets.
POISON: list[Ask] = [
    # the journal's error names a position in it: only these requests, so that it is stable
    admin("DELETE", "/journal"),
    create_with(b'{"_key":"roleRequest","s":"\\ud800"}'),
    create_with(b'{"_key":"roleRequest","f":1e400}'),
    ask("GET", "/openidm/endpoint/gettasksview?_queryId=gettasksview&userId=openidm-admin"),
]

# Requests written on a raw socket, each sent twice in a row. `<<port>>` is the server's port.
_RAW_AUTH = b"X-OpenIDM-Username: openidm-admin\r\nX-OpenIDM-Password: openidm-admin\r\n"
_RAW_HEAD = b"Host: 127.0.0.1:<<port>>\r\nUser-Agent: mockidm-answers\r\n" + _RAW_AUTH
_MAX_BODY = 1024 * 1024
RAW_REQUESTS: list[tuple[str, bytes]] = [
    ("chunked body", b"POST /openidm/workflow/processinstance?_action=create HTTP/1.1\r\n"
     + _RAW_HEAD + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
     b"Connection: close\r\n\r\n5\r\n{\"_ke\r\n11\r\ny\":\"roleRequest\"}\r\n0\r\n\r\n"),
    ("Content-Length 0", b"POST /openidm/workflow/processinstance?_action=create HTTP/1.1\r\n"
     + _RAW_HEAD + b"Content-Type: application/json\r\nContent-Length: 0\r\n"
     b"Connection: close\r\n\r\n"),
    ("body over the limit", b"POST /openidm/workflow/processinstance?_action=create HTTP/1.1\r\n"
     + _RAW_HEAD + b"Content-Type: application/json\r\nContent-Length: "
     + str(_MAX_BODY + 1).encode() + b"\r\nConnection: close\r\n\r\n" + b" " * (_MAX_BODY + 1)),
    ("URL over 8 KiB", b"GET /openidm/workflow/processinstance?_queryId=query-all-ids&x="
     + b"a" * 8200 + b" HTTP/1.1\r\n" + _RAW_HEAD + b"Connection: close\r\n\r\n"),
    ("header over 8 KiB", b"GET /openidm/workflow/processinstance?_queryId=query-all-ids "
     b"HTTP/1.1\r\n" + _RAW_HEAD + b"X-Big: " + b"a" * 8300 + b"\r\nConnection: close\r\n\r\n"),
    ("GET with a body", b"GET /openidm/workflow/processdefinition?_queryId=query-all-ids "
     b"HTTP/1.1\r\n" + _RAW_HEAD + b"Content-Type: application/json\r\nContent-Length: 22\r\n"
     b"Connection: close\r\n\r\n" + RAW_CREATE),
    ("outside /openidm", b"GET /nope/path?x=1 HTTP/1.1\r\nHost: 127.0.0.1:<<port>>\r\n"
     b"Connection: close\r\n\r\n"),
    ("HTTP/1.0", b"GET /openidm/workflow/processdefinition?_queryId=query-all-ids HTTP/1.0\r\n"
     + _RAW_AUTH + b"\r\n"),
    ("request line without a version", b"GET /openidm/workflow/processdefinition\r\n\r\n"),
    ("Expect 100-continue", b"POST /openidm/workflow/processinstance?_action=create HTTP/1.1\r\n"
     + _RAW_HEAD + b"Content-Type: application/json\r\nContent-Length: 22\r\n"
     b"Expect: 100-continue\r\nConnection: close\r\n\r\n" + RAW_CREATE),
]

APPROVAL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="https://answers.test">
  <process id="inlineApproval" name="Inline approval" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <userTask id="approve" name="Approve it" activiti:candidateGroups="managers"/>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""

ROLE_REQUEST_ONLY = {"workflowAccess": [{"propertiesCheck": {
    "property": "key", "matches": "^roleRequest$", "requiresRole": "manager"}}]}

# The admin session: each step once (a step marked twice is sent twice, to show a fault that
# fires once). The journal and snapshot of the ordinary requests are read before it.
SCRIPT: list[Ask] = [
    admin("POST", "/reset"),
    admin("GET", "/clock"),
    admin("POST", "/clock", {"freeze": "2030-01-01T00:00:00Z"}),
    ask("POST", CREATE, {"_key": "contractorOnboarding", "_businessKey": "frozen"},
        save={"frozen": "_id"}, twice=False),
    ask("GET", f"{PI}/<<frozen>>", twice=False),
    admin("POST", "/clock", {"advance": 3600}),
    ask("GET", f"{TI}?{FQ}&processInstanceId=<<frozen>>", save={"ftask": "result.0._id"},
        twice=False),
    ask("POST", f"{TI}/<<ftask>>?_action=complete", {"decision": "reject"}, twice=False),
    ask("GET", f"{PIH}/<<frozen>>", twice=False),
    # every instance started under the frozen clock has the same startTime: ties in order
    ask("POST", CREATE, {"_key": "roleRequest", "_businessKey": "tie"}),
    ask("GET", f"{PIH}?{FQ}&processInstanceBusinessKey=tie&_sortKeys=-startTime", twice=False),
    admin("GET", "/clock"),
    admin("POST", "/clock", {"freeze": "not a date"}),
    admin("POST", "/clock", {"unfreeze": True}),
    # users, managed users, process access
    admin("POST", "/users", {"name": "alice", "password": "secret",
                             "roles": ["openidm-authorized"]}),
    admin("POST", "/managed-users", {"userName": "bob", "password": "pw",
                                     "authzRoles": ["manager"]}),
    admin("POST", "/users", {"name": "", "password": "x"}),
    ask("GET", "/openidm/endpoint/getprocessesforuser", auth="alice"),
    ask("GET", f"{PD}?{ALL}", auth="alice"),
    ask("POST", CREATE, ROLE_REQUEST, auth="alice"),
    admin("PUT", "/process-access", ROLE_REQUEST_ONLY),
    ask("GET", "/openidm/endpoint/getprocessesforuser", auth="alice"),
    ask("GET", "/openidm/endpoint/getprocessesforuser", auth="bob"),
    ask("POST", CREATE, ROLE_REQUEST, auth="alice"),
    ask("POST", CREATE, ROLE_REQUEST, auth="bob", save={"bobs": "_id"}),
    ask("GET", f"{TI}?{FQ}&processInstanceId=<<bobs>>", auth="bob"),
    ask("GET", f"{PI}?{ALL}", auth="bob"),
    ask("POST", f"{TI}/999?_action=complete", {}, auth="bob"),
    ask("GET", f"{TI}/999", auth="bob"),
    # route faults
    admin("POST", "/faults", {"operation": "createProcessInstance", "status": 503,
                              "message": "try 'again'", "times": 1}),
    ask("POST", CREATE, ROLE_REQUEST),
    admin("POST", "/faults", {"method": "GET", "path": "workflow/processdefinition*",
                              "status": 500, "nth": 2, "detail": {"why": "scripted"}}),
    ask("GET", f"{PD}?{ALL}"),
    ask("GET", f"{PD}?{ALL}", twice=False),
    admin("POST", "/faults", {"operation": "queryTaskInstances", "latency": 0.05, "times": 1}),
    ask("GET", f"{TI}?{ALL}", twice=False),
    admin("POST", "/faults", {"operation": "readProcessDefinition", "drop": True, "times": 1}),
    ask("GET", f"{PD}/<<def2>>"),
    admin("POST", "/faults", {"query": {"_queryId": "query-all-ids"}, "status": 418,
                              "seconds": 60}),
    ask("GET", f"{PIH}?{ALL}"),
    admin("POST", "/faults", {"status": 200}),
    admin("POST", "/faults", {"operation": "readProcessInstance"}),
    admin("GET", "/faults"),
    admin("DELETE", "/faults"),
    # auth faults
    admin("POST", "/auth-faults", {"failNext": 2}),
    ask("GET", f"{PD}?{ALL}"),
    ask("GET", f"{PD}?{ALL}", twice=False),
    admin("POST", "/auth-faults", {"rejectPassword": "alice", "lockOut": ["bob"]}),
    ask("GET", f"{PD}?{ALL}", auth="alice"),
    ask("GET", f"{PD}?{ALL}", auth="bob"),
    ask("GET", f"{PD}?{ALL}", auth="admin-nosession", twice=False),
    ask("GET", f"{PD}?{ALL}", save={"late-cookie": "@cookie"},
        twice=False),
    ask("GET", f"{PD}?{ALL}", auth="late-cookie", twice=False),
    admin("POST", "/auth-faults", {"expireSessions": True}),
    ask("GET", f"{PD}?{ALL}", auth="late-cookie"),
    ask("GET", f"{PD}?{ALL}", twice=False),
    admin("POST", "/auth-faults", {}),
    admin("GET", "/faults"),
    admin("DELETE", "/faults"),
    # inline BPMN, instances and tasks through the admin API
    admin("POST", "/definitions", {"bpmn": APPROVAL_BPMN, "name": "approval.bpmn20.xml"}),
    admin("POST", "/definitions", {"bpmn": APPROVAL_BPMN, "name": "approval.bpmn20.xml"}),
    admin("POST", "/definitions", {"bpmn": "<definitions/>"}),
    admin("POST", "/definitions", {"bpmn": "<<not xml"}),
    admin("GET", "/definitions"),
    ask("POST", CREATE, {"_key": "inlineApproval", "_businessKey": "inline"}, twice=False),
    admin("POST", "/instances", {"key": "inlineApproval", "businessKey": "adm",
                                 "variables": {"n": 1}, "user": "alice"},
          save={"adm": "id"}),
    admin("POST", "/instances", {"key": "nope"}),
    admin("GET", "/tasks?instanceId=<<adm>>", save={"atask": "0.id"}),
    admin("POST", "/tasks/<<atask>>/claim", {"user": "bob"}),
    admin("POST", "/tasks/<<atask>>/complete", {"variables": {"ok": True}}),
    admin("POST", "/tasks/999/complete", {}),
    admin("POST", "/outputs", {"activityId": "sendActivationMail", "variables": {"sent": True},
                               "key": "accountActivation"}),
    admin("GET", "/journal?operation=createProcessInstance&status=201"),
    admin("GET", "/journal?status=abc"),
    admin("GET", "/problems"),
    # snapshot, reset, restore
    admin("GET", "/snapshot", save={"snapshot": "@body"}),
    admin("POST", "/reset"),
    ask("GET", f"{PI}?{ALL}", twice=False),
    admin("GET", "/definitions"),
    admin("PUT", "/snapshot", b"<<snapshot>>"),
    ask("GET", f"{PI}?{ALL}", twice=False),
    admin("PUT", "/snapshot", {"engine": {}}),
    admin("POST", "/fixtures", {"users": [{"name": "carol", "password": "c",
                                           "roles": ["openidm-authorized"]}],
                                "instances": [{"key": "roleRequest", "businessKey": "fx"}]}),
    admin("POST", "/fixtures", {"definitions": [{"file": "x.bpmn20.xml"}]}),
    admin("DELETE", "/journal"),
    ask("GET", f"{PI}?{FQ}&processInstanceBusinessKey=fx", twice=False),
    admin("GET", "/unknown"),
]

# What is read from the admin API after the ordinary and raw requests, and at the very end.
STATE_READS: list[Ask] = [admin("GET", "/journal"), admin("GET", "/problems"),
                          admin("GET", "/snapshot"), admin("GET", "/faults")]

# --- normalising what varies run to run -----------------------------------------------------

TIMESTAMP = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")
JWT = re.compile(rb"eyJ[\w-]*\.(eyJ[\w-]*)\.[\w-]+")
# A duration under a running clock is as long as the machine took; one of 100 s or more can only
# come from a clock moved on purpose, and is kept.
SHORT_DURATION = re.compile(rb'("durationInMillis" ?: ?)\d{1,5}(?!\d)')


class Normaliser:
    """Replaces what differs between two runs of the same code: the port, timestamps within a
    day of the run, durations under 100 s, session tokens' times and signatures.
    Everything else is kept byte for byte."""

    def __init__(self, port: int, started: datetime) -> None:
        self.port = str(port).encode()
        self.window_start = started - timedelta(days=1)
        self.window_end = started + timedelta(days=2)

    def __call__(self, data: bytes) -> bytes:
        data = data.replace(b"127.0.0.1:" + self.port, b"127.0.0.1:<port>")
        data = TIMESTAMP.sub(self._timestamp, data)
        data = SHORT_DURATION.sub(rb"\1<ms>", data)
        return JWT.sub(self._token, data)

    def _timestamp(self, match: re.Match[bytes]) -> bytes:
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return match.group(0)
        if not self.window_start <= moment <= self.window_end:
            return match.group(0)  # a frozen clock's date, or data: the same in every run
        fraction, offset = match.group(7), match.group(8) or b""
        # isoformat() leaves out microseconds that happen to be 0, so both mean the same form.
        shape = b"[.ffffff]" if fraction is None or len(fraction) == 7 else (
            b"." + b"f" * (len(fraction) - 1))
        return b"<now yyyy-mm-ddThh:mm:ss" + shape + offset + b">"

    @staticmethod
    def _token(match: re.Match[bytes]) -> bytes:
        payload = match.group(1)
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except ValueError:
            return b"<token>"
        if not isinstance(claims, dict):
            return b"<token>"
        issued = claims.get("iat")
        for name in ("iat", "nbf", "exp"):
            value = claims.get(name)
            if isinstance(value, int | float) and isinstance(issued, int | float):
                claims[name] = f"<iat{value - math.floor(issued):+g}>" if name != "iat" else (
                    f"<iat {type(value).__name__}>")
        header = match.group(0).split(b".")[0]
        return b"<jwt " + header + b" " + json.dumps(claims).encode() + b">"


def normalise_headers(headers: list[tuple[str, str]], normalise: Normaliser,
                      body: bytes | None = None) -> list[list[str]]:
    """Date and Server replaced; a Content-Length that is the body's length said so (the body
    is compared itself, after normalising, which may change its length)."""
    normalised = []
    for name, value in headers:
        if name.lower() == "content-length" and body is not None and value == str(len(body)):
            value = "<length of the body>"
        elif name.lower() == "date":
            value = "<date>"
        elif name.lower() == "server":
            value = "<server>"
        else:
            value = normalise(value.encode("latin-1")).decode("latin-1")
        normalised.append([name, value])
    return normalised


def body_record(data: bytes, normalise: Normaliser) -> str | dict[str, str]:
    """The body as text, normalised; bytes that are not UTF-8 as base64, untouched."""
    try:
        return normalise(data).decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


# --- sending --------------------------------------------------------------------------------

class Session:
    """One server's run: sends requests, keeps the values answers gave, records exchanges."""

    def __init__(self, port: int, normalise: Normaliser) -> None:
        self.port = port
        self.normalise = normalise
        self.saved: dict[str, bytes] = {"port": str(port).encode()}
        self.exchanges: list[dict[str, Any]] = []

    def fill(self, text: bytes) -> bytes:
        return re.sub(rb"<<([\w-]+)>>", lambda m: self.saved.get(m.group(1).decode(),
                                                                   m.group(0)), text)

    def send(self, request: Ask, phase: str) -> None:
        for attempt in range(2 if request.twice else 1):
            answer = self._exchange(request, phase)
            if attempt == 0:
                self._save(request.save, answer)

    def _exchange(self, request: Ask, phase: str) -> tuple[int | None, list[tuple[str, str]],
                                                          bytes]:
        target = self.fill(request.target.encode()).decode()
        headers = [("Host", f"{HOST}:{self.port}"), ("User-Agent", "mockidm-answers")]
        headers += [(k, self.fill(v.encode()).decode())
                    for k, v in CREDENTIALS[request.auth].items()]
        body = request.body
        if isinstance(body, dict | list):
            body = json.dumps(body, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in request.headers):
                headers.append(("Content-Type", "application/json"))
        headers += list(request.headers.items())
        if body is not None:
            body = self.fill(body)
            headers.append(("Content-Length", str(len(body))))
        status, answer_headers, answer_body, error = None, [], b"", None
        connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.putrequest(request.method, target, skip_host=True,
                                  skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            status, answer_headers = response.status, response.getheaders()
            answer_body = response.read()
        except (OSError, http.client.HTTPException) as problem:
            error = type(problem).__name__
        finally:
            connection.close()
        self._record(phase, {"method": request.method, "target": target, "headers": headers,
                             "body": body}, status, answer_headers, answer_body, error)
        return status, answer_headers, answer_body

    def send_raw(self, label: str, data: bytes) -> None:
        for _ in range(2):
            data_filled = self.fill(data)
            status, headers, body, error = None, [], b"", None
            with socket.create_connection((HOST, self.port), timeout=REQUEST_TIMEOUT) as sock:
                received = b""
                try:
                    sock.sendall(data_filled)
                    while chunk := sock.recv(65536):
                        received += chunk
                except OSError as problem:
                    error = type(problem).__name__
            interim = []
            head, _, body = received.partition(b"\r\n\r\n")
            while re.match(rb"HTTP/1\.[01] 1\d\d ", head) and body:
                interim.append(head.decode("latin-1"))  # 100 Continue and the like
                head, _, body = body.partition(b"\r\n\r\n")
            if head:
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ", 2)
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                headers = [(n, v.lstrip()) for n, _, v in (h.partition(":") for h in lines[1:])]
                headers[:0] = [(":interim", line) for line in interim]
                headers.insert(len(interim), (":status-line", lines[0]))
            request_head, _, request_body = data_filled.partition(b"\r\n\r\n")
            shown_body = request_body if len(request_body) < 4096 else (
                b"<%d bytes>" % len(request_body))
            shown_head = re.sub(rb"(a{64})a+", lambda m: b"a*%d" % len(m.group(0)), request_head)
            self._record("raw", {"label": label, "head": shown_head, "body": shown_body},
                         status, headers, body, error)

    def _record(self, phase: str, request: dict[str, Any], status: int | None,
                headers: list[tuple[str, str]], body: bytes, error: str | None) -> None:
        shown: dict[str, Any] = {}
        for key, value in request.items():
            if isinstance(value, bytes):
                shown[key] = body_record(value, self.normalise)
            elif key == "headers":
                shown[key] = normalise_headers(value, self.normalise, request.get("body"))
            else:
                shown[key] = value
        self.exchanges.append({"phase": phase, "request": shown, "status": status,
                               "headers": normalise_headers(headers, self.normalise, body),
                               "body": body_record(body, self.normalise), "error": error})

    def _save(self, names: dict[str, str], answer: tuple[int | None, list[tuple[str, str]],
                                                         bytes]) -> None:
        _, headers, body = answer
        for name, path in names.items():
            value = pick(path, headers, body)
            if value is not None:
                self.saved[name] = value


def pick(path: str, headers: list[tuple[str, str]], body: bytes) -> bytes | None:
    """A value of an answer: `@cookie`, `@body`, or a dotted path into its JSON body."""
    if path == "@body":
        return body
    if path == "@cookie":
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith("session-jwt="):
                return value.split(";", 1)[0].split("=", 1)[1].encode()
        return None
    try:
        node: Any = json.loads(body)
        for step in path.split("."):
            node = node[int(step)] if isinstance(node, list) else node[step]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return str(node).encode()


# --- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        connection = http.client.HTTPConnection(HOST, port, timeout=1)
        try:
            connection.request("GET", f"{ADMIN_API}/clock")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT:g} s")


def record_profile(checkout: Path, python: str, profile: str) -> list[dict[str, Any]]:
    port = free_port()
    command = [python, "-m", "mockidm", "serve", "--host", HOST, "--port", str(port),
               "--profile", profile, "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryFile() as log:
        started = datetime.now(UTC)
        process = subprocess.Popen(command, cwd=checkout, env=env, stdout=log, stderr=log)
        try:
            wait_until_answering(port, process)
            session = Session(port, Normaliser(port, started))
            for request in REQUESTS:
                session.send(request, "request")
            for label, data in RAW_REQUESTS:
                session.send_raw(label, data)
            for request in STATE_READS:
                session.send(request, "state")
            for request in POISON:
                session.send(request, "poison")
            for request in STATE_READS:
                session.send(request, "poisoned state")
            for request in SCRIPT:
                session.send(request, "admin")
            for request in STATE_READS:
                session.send(request, "final state")
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return session.exchanges


def record(checkout: Path, out: Path, python: str) -> int:
    began = time.monotonic()
    profiles = {profile: record_profile(checkout, python, profile) for profile in PROFILES}
    seconds = time.monotonic() - began
    document = {"format": FORMAT, "profiles": profiles,
                "meta": {"checkout": str(checkout), "seconds": round(seconds, 1)}}
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = ", ".join(f"{p}: {len(e)}" for p, e in profiles.items())
    print(f"{out}: {sum(len(e) for e in profiles.values())} exchanges ({counts}) "
          f"in {seconds:.1f} s")
    return 0


# --- comparing ------------------------------------------------------------------------------

def describe(exchange: dict[str, Any]) -> str:
    request = exchange["request"]
    if "label" in request:
        return f"raw socket: {request['label']}"
    return f"{request['method']} {request['target']}"[:200]


def text_of(body: str | dict[str, str]) -> str:
    return body if isinstance(body, str) else f"<base64 {body['base64']}>"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found = []
    if old["request"] != new["request"]:
        found.append(f"  the request itself differs: {json.dumps(old['request'])[:300]}\n"
                     f"                           vs {json.dumps(new['request'])[:300]}")
    for key in ("status", "error"):
        if old[key] != new[key]:
            found.append(f"  {key}: {old[key]!r} -> {new[key]!r}")
    if old["headers"] != new["headers"]:
        found.append("  headers:")
        found += [f"    {line}" for line in difflib.unified_diff(
            [f"{n}: {v}" for n, v in old["headers"]], [f"{n}: {v}" for n, v in new["headers"]],
            lineterm="", n=0)][2:]
    if old["body"] != new["body"]:
        before, after = text_of(old["body"]), text_of(new["body"])
        found.append(f"  body ({len(before)} -> {len(after)} characters):")
        if "\n" in before or "\n" in after:
            diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                             lineterm="", n=1))[2:]
            found += [f"    {line[:300]}" for line in diff[:60]]
        else:
            start = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                         min(len(before), len(after)))
            found.append(f"    first difference at character {start}:")
            found.append(f"    - ...{before[max(0, start - 80):start + 160]}")
            found.append(f"    + ...{after[max(0, start - 80):start + 160]}")
    return found


def compare(old_path: Path, new_path: Path) -> int:
    old = json.loads(old_path.read_text(encoding="utf-8"))
    new = json.loads(new_path.read_text(encoding="utf-8"))
    reported, total = 0, 0
    for profile in sorted(set(old["profiles"]) | set(new["profiles"])):
        before, after = old["profiles"].get(profile, []), new["profiles"].get(profile, [])
        if len(before) != len(after):
            print(f"profile {profile}: {len(before)} exchanges -> {len(after)}")
            reported += 1
        for index, (a, b) in enumerate(zip(before, after, strict=False)):
            total += 1
            found = differences(a, b)
            if found:
                reported += 1
                print(f"[{profile} #{index} {a['phase']}] {describe(a)}")
                print("\n".join(found))
    if reported:
        print(f"{reported} differences in {total} exchanges")
        return 1
    print(f"{total} exchanges, all identical")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="record a checkout's answers")
    recording.add_argument("--checkout", type=Path, required=True,
                           help="the checkout whose `python -m mockidm serve` answers")
    recording.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    recording.add_argument("--python", default=DEFAULT_PYTHON if Path(DEFAULT_PYTHON).exists()
                           else sys.executable, help="the Python that runs the server")
    comparing = commands.add_parser("compare", help="print every difference of two records")
    comparing.add_argument("old", type=Path)
    comparing.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        return record(args.checkout.resolve(), args.out, args.python)
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
