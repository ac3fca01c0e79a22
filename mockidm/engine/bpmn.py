"""Loading BPMN 2.0 process definitions: `*.bpmn20.xml` / `*.bpmn` files and `.bar` archives.

IDM deploys what it finds in its `workflow/` directory with Activiti 5 (Flowable in later
releases). This module reads the same files into `ProcessModel`s, keeping what the mock's
interpreter runs and refusing, with the file and line, what it cannot run. It reads:

* `definitions`: `targetNamespace` (the definitions' category), the `message`, `signal` and
  `error` declarations, and whether any BPMN diagram interchange shape exists (graphical notation);
* each `process` whose `isExecutable` is not false: id (the key), name, `documentation`;
* `error` declarations (id -> errorCode: an errorRef names one, else is the code itself);
* flow nodes: none and timer start events, none and error end events, user, script, service,
  manual and receive tasks, timer, message and signal intermediate catch events, exclusive and
  parallel gateways, embedded sub-processes (their nodes and flows join the process's graph,
  each node naming its sub-process as `parent`), boundary events (timer, message, signal,
  error; `attachedToRef`, `cancelActivity`), call activities (`calledElement` by key,
  `activiti:in` / `activiti:out`, businessKey, inheritBusinessKey, inheritVariables); a timer's
  one `timeDate`, `timeDuration` or `timeCycle` is kept as text; script and
  service tasks run nothing here (the engine lets a test supply the variables they would set),
  manual tasks are passed through, as in Activiti;
* the `activiti:` / `flowable:` extension attributes (Flowable's namespace wins when both are
  present, as in Flowable's converter): assignee, candidateUsers, candidateGroups, formKey,
  category, priority, dueDate, and `formProperty` elements with their enum `value`s; the start
  event's initiator; a service task's expression and resultVariable (or resultVariableName), and a
  mail task's (`activiti:type="mail"`) fields. They are kept as written: the interpreter
  evaluates them when the engine does;
* sequence flows with their `conditionExpression`;
* task listeners (user tasks) and execution listeners (processes, flow nodes, sequence flows)
  in `extensionElements`: their event and their expression, delegateExpression or class.

Each process is then checked as every model is (`validation.check_model`: conditions that
compile, one start event, flows between known nodes, exclusive gateways Activiti accepts), so
that a model the mock cannot run fails the deployment instead of a running instance; a problem
is reported at the line of the element it names.

Every other flow node (event sub-processes, transactions, throw events, inclusive and
event-based gateways, escalation or conditional events, ...) is refused by name. Things that do
not route tokens (lanes, text annotations, associations, data objects and other extension
elements) are ignored.

XML is read with defusedxml's SAX parser with DTDs forbidden, so no entity of any kind (and
no external resource) is ever expanded. Archives are checked for size, entry count,
compression ratio and entry names before and while they are read.
"""

from __future__ import annotations

import copy
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, ErrorHandler, feature_namespaces
from xml.sax.xmlreader import InputSource

from defusedxml import (  # type: ignore[import-untyped]
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.expatreader import create_parser  # type: ignore[import-untyped]

from .errors import DefinitionError
from .interpreter import KINDS
from .model import (
    BOUNDARY_EVENT,
    CALL_ACTIVITY,
    CATCH_EVENT,
    END_EVENT,
    ERROR,
    EXCLUSIVE_GATEWAY,
    EXECUTION_EVENTS,
    MAIL,
    MESSAGE,
    SCRIPT_TASK,
    SERVICE_TASK,
    SIGNAL,
    START_EVENT,
    SUB_PROCESS,
    TASK_EVENTS,
    TIME_CYCLE,
    TIME_DATE,
    TIME_DURATION,
    TIMER,
    USER_TASK,
    FieldValue,
    Flow,
    FormProperty,
    IOParameter,
    Listener,
    MultiInstance,
    Node,
    ProcessModel,
    ScriptText,
)
from .validation import Code, InvalidModel, Problem, check_model

BPMN_NAMESPACE = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIVITI_NAMESPACE = "http://activiti.org/bpmn"
FLOWABLE_NAMESPACE = "http://flowable.org/bpmn"
# Where extension attributes are looked up, in this order (Flowable's BpmnXMLUtil).
EXTENSION_NAMESPACES = (FLOWABLE_NAMESPACE, ACTIVITI_NAMESPACE)

# Activiti's BpmnDeployer: which deployment resources are BPMN, which are diagrams. Both
# are matched with a plain, case-sensitive "ends with".
BPMN_RESOURCE_SUFFIXES = ("bpmn20.xml", "bpmn")
DIAGRAM_SUFFIXES = ("png", "jpg", "gif", "svg")
ARCHIVE_SUFFIXES = (".bar", ".zip")

# Archive limits. An archive is refused before anything is decompressed if its size, its
# entry count, its declared expanded size or one entry's declared compression ratio is too
# large; the same limits hold while entries are read, so a header that lies gains nothing.
MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 500
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # expanded size / compressed size, for one entry ...
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # ... that expands to more than this

# Activiti's default `date` form type (ProcessEngineConfigurationImpl.initFormTypes).
DEFAULT_DATE_PATTERN = "dd/MM/yyyy"
FORM_TYPES = frozenset({"string", "long", "boolean", "double", "date", "enum"})
DEFAULT_PRIORITY = 50

# Every BPMN 2.0 flow node. Those of a kind the interpreter runs (KINDS) become nodes; the
# others are refused by name.
_FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "implicitThrowEvent", "boundaryEvent", "task", "userTask", "manualTask", "scriptTask",
    "serviceTask", "sendTask", "receiveTask", "businessRuleTask", "callActivity", "subProcess",
    "transaction", "adHocSubProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway", "callChoreography", "choreographyTask",
    "subChoreography",
})
_UNSUPPORTED = _FLOW_NODES - KINDS
_EVENT_DEFINITIONS = frozenset({
    "messageEventDefinition", "signalEventDefinition", "timerEventDefinition",
    "errorEventDefinition", "escalationEventDefinition", "compensateEventDefinition",
    "conditionalEventDefinition", "linkEventDefinition", "cancelEventDefinition",
    "terminateEventDefinition", "eventDefinitionRef",
})
_MULTI = "multiInstanceLoopCharacteristics"
_LOOPS = frozenset({_MULTI, "standardLoopCharacteristics"})
_INTEGER = re.compile(r"[+-]?\d+")
_DRIVE = re.compile(r"[A-Za-z]:")


class BpmnError(DefinitionError):
    """A BPMN file or archive cannot be deployed. The message names the resource and, when
    known, the line: ``onboarding.bpmn20.xml, line 12: ...``; for a file inside an archive
    the archive comes first: ``onboarding.bar: onboarding.bpmn20.xml, line 12: ...``."""

    def __init__(self, resource: str, line: int | None, problem: str, *,
                 archive: str | None = None) -> None:
        where = resource if line is None else f"{resource}, line {line}"
        if archive is not None:
            where = f"{archive}: {where}"
        super().__init__(f"{where}: {problem}")
        self.resource, self.line, self.problem, self.archive = resource, line, problem, archive


@dataclass
class Archive:
    """A loaded `.bar`: the executable processes of its BPMN files, and every file in it by
    name (the BPMN files themselves, forms, diagrams)."""

    models: list[ProcessModel] = field(default_factory=list)
    resources: dict[str, bytes] = field(default_factory=dict)


def is_bpmn_resource(name: str) -> bool:
    """Whether a deployment resource is parsed as BPMN (Activiti's BpmnDeployer rule)."""
    return name.endswith(BPMN_RESOURCE_SUFFIXES)


def is_archive(name: str) -> bool:
    """Whether a file is read as an archive: its name ends in .bar or .zip, in any case."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def is_deployable(name: str) -> bool:
    """Whether a file in the workflow directory is a BPMN file or an archive."""
    return is_bpmn_resource(name) or is_archive(name)


def diagram_resource_name(model: ProcessModel, resource_name: str,
                          resources: Iterable[str]) -> str | None:
    """The deployed image of a process, as Activiti's BpmnDeployer finds it: for a process
    `key` in `abc.bpmn20.xml`, `abc.key.png` else `abc.png`, then the same for jpg, gif and
    svg. The base keeps its trailing dot: only the suffix `bpmn20.xml` or `bpmn` is cut."""
    names = set(resources)
    base = _resource_base(resource_name)
    for image in DIAGRAM_SUFFIXES:
        for candidate in (f"{base}{model.key}.{image}", f"{base}{image}"):
            if candidate in names:
                return candidate
    return None


def generated_diagram_name(model: ProcessModel, resource_name: str) -> str:
    """The name BpmnDeployer gives the PNG it generates for a process that has diagram
    interchange and no image of its own: `abc.key.png` for a process `key` in `abc.bpmn20.xml`."""
    return f"{_resource_base(resource_name)}{model.key}.png"


def _resource_base(resource_name: str) -> str:
    """The resource's name without its suffix `bpmn20.xml` or `bpmn` (its dot stays)."""
    for suffix in BPMN_RESOURCE_SUFFIXES:
        if resource_name.endswith(suffix):
            return resource_name[: -len(suffix)]
    return resource_name


def load_bpmn(data: bytes | str, resource_name: str) -> list[ProcessModel]:
    """The executable processes of one BPMN 2.0 document, in document order."""
    return _Loader(_parse(data, resource_name), resource_name).models()


def load_archive(data: bytes, name: str) -> Archive:
    """Read a `.bar` (a zip): every entry becomes a resource; entries ending in `bpmn20.xml`
    or `bpmn` are loaded as BPMN. Two processes with one key are refused, as Activiti
    refuses them in one deployment."""
    archive = Archive()
    origin: dict[str, str] = {}
    for entry, content in _read_zip(data, name):
        archive.resources[entry] = content
        if not is_bpmn_resource(entry):
            continue
        try:
            models = load_bpmn(content, entry)
        except BpmnError as exc:
            raise BpmnError(exc.resource, exc.line, exc.problem, archive=name) from None
        for model in models:
            if model.key in origin:
                raise BpmnError(name, None, f"process '{model.key}' is defined both in "
                                f"'{origin[model.key]}' and in '{entry}'; a deployment "
                                "cannot hold two processes with the same key")
            origin[model.key] = entry
        archive.models += models
    return archive


# XML -------------------------------------------------------------------------------------------


class _Element:
    """A parsed element: namespace, local name, attributes by (namespace, name), the line of
    its start tag, its children and its own text (not that of its children)."""

    __slots__ = ("attrs", "children", "line", "name", "ns", "text")

    def __init__(self, ns: str | None, name: str, attrs: dict[tuple[str | None, str], str],
                 line: int | None) -> None:
        self.ns, self.name, self.attrs, self.line = ns, name, attrs, line
        self.children: list[_Element] = []
        self.text: list[str] = []

    def attr(self, name: str) -> str | None:
        return self.attrs.get((None, name))

    def ext(self, name: str) -> str | None:
        """An `activiti:` or `flowable:` extension attribute."""
        for namespace in EXTENSION_NAMESPACES:
            value = self.attrs.get((namespace, name))
            if value is not None:
                return value
        return None

    @property
    def is_bpmn(self) -> bool:
        # Activiti matches BPMN elements by local name; a file without the BPMN namespace
        # declared as default still deploys there, so no namespace counts as BPMN too.
        return self.ns in (BPMN_NAMESPACE, None, "")

    def bpmn(self, name: str | None = None) -> Iterator[_Element]:
        """The BPMN children, or those named `name`."""
        return (c for c in self.children if c.is_bpmn and (name is None or c.name == name))

    def content(self) -> str:
        return "".join(self.text)

    def walk(self) -> Iterator[_Element]:
        stack = [self]
        while stack:
            element = stack.pop()
            yield element
            stack.extend(reversed(element.children))


class _TreeBuilder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.root: _Element | None = None
        self._stack: list[_Element] = []
        self._locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self._locator = locator

    @property
    def line(self) -> int | None:
        return self._locator.getLineNumber() if self._locator is not None else None

    def startElementNS(self, name: tuple[str | None, str], qname: str | None,
                       attrs: Any) -> None:
        element = _Element(name[0], name[1], dict(attrs.items()), self.line)
        if self._stack:
            self._stack[-1].children.append(element)
        else:
            self.root = element
        self._stack.append(element)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:
        self._stack.pop()

    def characters(self, content: str) -> None:
        if self._stack:
            self._stack[-1].text.append(content)


class _Strict(ErrorHandler):
    """Every problem is fatal (the default handler prints warnings to stdout)."""

    def error(self, exception: BaseException) -> NoReturn:
        raise exception

    def fatalError(self, exception: BaseException) -> NoReturn:
        raise exception

    def warning(self, exception: BaseException) -> NoReturn:
        raise exception


def _parse(data: bytes | str, resource_name: str) -> _Element:
    builder = _TreeBuilder()
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(builder)
    parser.setErrorHandler(_Strict())
    source = InputSource(resource_name)
    if isinstance(data, str):
        source.setCharacterStream(io.StringIO(data))
    else:
        source.setByteStream(io.BytesIO(data))
    try:
        parser.parse(source)
    except SAXParseException as exc:
        raise BpmnError(resource_name, exc.getLineNumber(),
                        f"malformed XML: {exc.getMessage()}") from None
    except DTDForbidden:
        raise BpmnError(resource_name, builder.line, "a document type declaration "
                        "(<!DOCTYPE ...>) is not allowed in a BPMN file") from None
    except EntitiesForbidden:  # pragma: no cover (a DTD is refused before its entities)
        raise BpmnError(resource_name, builder.line,
                        "entity declarations are not allowed in a BPMN file") from None
    except ExternalReferenceForbidden:  # pragma: no cover (likewise)
        raise BpmnError(resource_name, builder.line,
                        "external entity references are not allowed in a BPMN file") from None
    assert builder.root is not None  # expat reports a document without an element
    return builder.root


# BPMN ------------------------------------------------------------------------------------------


def _local(reference: str) -> str:
    """`tns:approved` -> `approved`: refs to messages and signals may carry a prefix."""
    return reference.rsplit(":", 1)[-1]


def _delimited(text: str | None) -> tuple[str, ...]:
    """Split a comma-separated list, keeping `${a, b}` whole (BpmnXMLUtil.parseDelimitedList:
    `$` or `{` opens an expression, `}` closes it). Empty items are dropped."""
    if not text:
        return ()
    items: list[str] = []
    current: list[str] = []
    inside = False
    for char in text:
        if char in "{$":
            inside = True
        elif char == "}":
            inside = False
        elif char == "," and not inside:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return tuple(item for item in items if item)


def _boolean(text: str | None, default: bool) -> bool:
    """Java's Boolean.valueOf for a non-empty attribute: "true" in any case, else false."""
    return default if not text else text.lower() == "true"


class _Loader:
    def __init__(self, root: _Element, resource_name: str) -> None:
        self.root, self.resource_name = root, resource_name
        self.category = root.attr("targetNamespace")
        self.messages = self._declared("message")
        self.signals = self._declared("signal")
        # Error declarations: id -> errorCode (None when it names none).
        self.errors = {el.attr("id") or "": el.attr("errorCode")
                       for el in root.bpmn("error") if el.attr("id")}
        # Activiti marks every process of the file as graphically defined as soon as the
        # file places one shape (a BPMNShape with its Bounds).
        self.graphical = any(
            element.name == "BPMNShape"
            and any(child.name.lower() == "bounds" for child in element.children)
            for element in root.walk())

    def error(self, where: _Element, problem: str) -> BpmnError:
        return BpmnError(self.resource_name, where.line, problem)

    def _declared(self, kind: str) -> dict[str, str]:
        """Message or signal declarations: id -> name (the id when unnamed)."""
        return {el.attr("id") or "": el.attr("name") or el.attr("id") or ""
                for el in self.root.bpmn(kind) if el.attr("id")}

    def models(self) -> list[ProcessModel]:
        if not (self.root.is_bpmn and self.root.name == "definitions"):
            raise self.error(self.root, f"not a BPMN 2.0 document: the root element is "
                             f"'{self.root.name}', not 'definitions'")
        processes = list(self.root.bpmn("process"))
        models: list[ProcessModel] = []
        for element in processes:
            key = element.attr("id")
            if not key:
                raise self.error(element, "a process needs an id (its key)")
            if not _boolean(element.attr("isExecutable"), True):
                continue  # Activiti ignores non-executable processes
            if any(model.key == key for model in models):
                raise self.error(element, f"process '{key}' is defined twice in this file")
            models.append(self.process(element, key))
        if not models:
            raise self.error(self.root, "the file defines no process" if not processes else
                             "every process of the file is non-executable "
                             "(isExecutable=\"false\"); at least one must be executable")
        return models

    # process -----------------------------------------------------------------------------------

    def process(self, element: _Element, key: str) -> ProcessModel:
        nodes: dict[str, Node] = {}
        flow_elements: list[_Element] = []
        ids: dict[str, _Element] = {}
        self.flow_elements(element, None, nodes, flow_elements, ids)
        model = ProcessModel(
            key=key, name=element.attr("name"), nodes=nodes,
            flows=tuple(self.flows(flow_elements, ids)),
            documentation=self.documentation(element), category=self.category,
            resource_name=self.resource_name, graphical_notation=self.graphical,
            executable=True, line=element.line,
            listeners=self.listeners(element, "executionListener", EXECUTION_EVENTS[:2]))
        try:
            check_model(model)
        except InvalidModel as exc:
            raise self.error(self.place(exc.problem, element, ids),
                             exc.problem.message) from None
        return model

    def flow_elements(self, container: _Element, parent: str | None, nodes: dict[str, Node],
                      flow_elements: list[_Element], ids: dict[str, _Element]) -> None:
        """The nodes and sequence flows of a process or sub-process, those of the sub-processes
        in it included (their nodes name the sub-process as `parent`): one flat graph."""
        for child in container.bpmn():
            if child.name == "sequenceFlow":
                flow_elements.append(child)
                if flow_id := child.attr("id"):
                    self.claim(ids, flow_id, child)
                continue
            if child.name in _UNSUPPORTED:
                raise self.error(child, f"{self.describe(child)} is not supported by mockidm")
            if child.name not in KINDS:
                continue  # lanes, annotations, associations, data objects, extensions, ...
            node = self.node(child, parent)
            self.claim(ids, node.id, child)
            nodes[node.id] = node
            if node.kind == SUB_PROCESS:
                self.flow_elements(child, node.id, nodes, flow_elements, ids)

    @staticmethod
    def place(problem: Problem, process: _Element, ids: dict[str, _Element]) -> _Element:
        """Where a problem of the model is written: its node or flow (a condition's own
        element), else the process."""
        if problem.element is None:
            return process
        element = ids[problem.element]
        if problem.code is Code.BAD_CONDITION:
            return list(element.bpmn("conditionExpression"))[-1]
        if problem.code is Code.GATEWAY and element.attr("id") is None:
            # The message names the gateway, not a flow that has no id to name.
            return ids[element.attr("sourceRef") or ""]
        return element

    def claim(self, ids: dict[str, _Element], element_id: str, element: _Element) -> None:
        if element_id in ids:
            raise self.error(element, f"id '{element_id}' is used twice in one process "
                             f"(first on line {ids[element_id].line})")
        ids[element_id] = element

    @staticmethod
    def describe(element: _Element) -> str:
        element_id = element.attr("id")
        suffix = f" (id '{element_id}')" if element_id else ""
        return f"element '{element.name}'{suffix}"

    @staticmethod
    def documentation(element: _Element) -> str | None:
        """The text of the last non-empty `documentation` child, trimmed (DocumentationParser)."""
        texts = [d.content().strip() for d in element.bpmn("documentation")]
        texts = [text for text in texts if text]
        return texts[-1] if texts else None

    # flow nodes --------------------------------------------------------------------------------

    def node(self, element: _Element, parent: str | None = None) -> Node:
        kind = element.name
        node_id = element.attr("id")
        if not node_id:
            raise self.error(element, f"element '{kind}' has no id")
        for child in element.bpmn():
            if child.name in _LOOPS and not (kind == USER_TASK and child.name == _MULTI):
                support = "supports on user tasks only" if child.name == _MULTI else \
                    "does not support"
                raise self.error(child, f"{self.describe(element)} has {child.name}, which "
                                 f"mockidm {support}")
        default = element.attr("default") or None
        if default is not None and kind != EXCLUSIVE_GATEWAY:
            raise self.error(element, f"{self.describe(element)} has a default flow; mockidm "
                             "supports default flows on exclusive gateways only")
        definitions = [c for c in element.bpmn() if c.name in _EVENT_DEFINITIONS]
        common: dict[str, Any] = {
            "id": node_id, "kind": kind, "name": element.attr("name"),
            "documentation": self.documentation(element), "line": element.line,
            "execution_listeners": self.listeners(element, "executionListener",
                                                  EXECUTION_EVENTS[:2]), "parent": parent}
        if kind == END_EVENT and [d.name for d in definitions] == ["errorEventDefinition"]:
            return Node(**common, event=ERROR, event_name=self.error_code(definitions[0]))
        if kind == BOUNDARY_EVENT:
            return self.boundary_event(element, definitions, common)
        if kind == SUB_PROCESS and _boolean(element.attr("triggeredByEvent"), False):
            raise self.error(element, f"{self.describe(element)} is an event sub-process, "
                             "which mockidm does not support")
        if kind == CALL_ACTIVITY:
            return self.call_activity(element, common)
        timer = (self.timer(element, definitions[0]) if len(definitions) == 1
                 and definitions[0].name == "timerEventDefinition" else {})
        if kind in (START_EVENT, END_EVENT) and definitions and not (
                kind == START_EVENT and timer):
            if len(definitions) > 1:
                raise self.error(definitions[1], f"{self.describe(element)} has "
                                 f"{len(definitions)} event definitions; mockidm supports one")
            supported = ("none and timer start events" if kind == START_EVENT else
                         "none and error end events")
            raise self.error(definitions[0], f"{self.describe(element)} with a "
                             f"{definitions[0].name} is not supported by mockidm (only "
                             f"{supported})")
        if kind == START_EVENT:
            return Node(**common, form_key=element.ext("formKey"),
                        form_properties=self.form_properties(element),
                        initiator=element.ext("initiator") or None, **timer)
        if kind == BOUNDARY_EVENT:
            return self.boundary_event(element, definitions, common)
        if kind == SERVICE_TASK:
            # resultVariableName: the older spelling the converters still read.
            service_type = element.ext("type") or None
            return Node(**common, expression=element.ext("expression") or None,
                        result_variable=element.ext("resultVariable")
                        or element.ext("resultVariableName") or None,
                        service_type=service_type,
                        fields=self.fields(element) if service_type == MAIL else ())
        if kind == USER_TASK:
            return self.user_task(element, common)
        if kind == SCRIPT_TASK:
            return Node(**common, script=self.script(element))
        if kind == CATCH_EVENT:
            return self.catch_event(element, definitions, common)
        if kind == EXCLUSIVE_GATEWAY:
            return Node(**common, default_flow=default)
        return Node(**common)

    def user_task(self, element: _Element, common: dict[str, Any]) -> Node:
        assignee = element.ext("assignee")
        users = list(_delimited(element.ext("candidateUsers")))
        groups = list(_delimited(element.ext("candidateGroups")))
        # The standard BPMN assignment, which Activiti reads as well.
        for performer in element.bpmn("humanPerformer"):
            text = self.formal_expression(performer)
            if text:
                assignee = text
        for owner in element.bpmn("potentialOwner"):
            for item in _delimited(self.formal_expression(owner)):
                if item.startswith("user(") and item.endswith(")"):
                    users.append(item[5:-1].strip())
                elif item.startswith("group(") and item.endswith(")"):
                    groups.append(item[6:-1].strip())
                else:
                    groups.append(item)
        priority = (element.ext("priority") or "").strip()
        literal = _INTEGER.fullmatch(priority) is not None
        return Node(
            **common, assignee=assignee or None, candidate_users=tuple(users),
            candidate_groups=tuple(groups), form_key=element.ext("formKey"),
            task_category=element.ext("category") or None,
            form_properties=self.form_properties(element),
            priority=int(priority) if literal else DEFAULT_PRIORITY,
            priority_expression=priority if priority and not literal else None,
            due_date=element.ext("dueDate") or None,
            task_listeners=self.listeners(element, "taskListener", TASK_EVENTS),
            multi_instance=self.multi_instance(element))

    @staticmethod
    def multi_instance(element: _Element) -> MultiInstance | None:
        """MultiInstanceParser: `isSequential`, `activiti:collection` (or the standard
        `loopDataInputRef`), `activiti:elementVariable` (or `inputDataItem`'s name),
        `loopCardinality` and `completionCondition` as text."""
        for loop in element.bpmn(_MULTI):
            texts = {child.name: child.content().strip() or None for child in loop.bpmn()}
            element_variable = loop.ext("elementVariable")
            for item in loop.bpmn("inputDataItem"):
                element_variable = element_variable or item.attr("name")
            return MultiInstance(
                sequential=_boolean(loop.attr("isSequential"), False),
                collection=loop.ext("collection") or texts.get("loopDataInputRef"),
                element_variable=element_variable or None,
                loop_cardinality=texts.get("loopCardinality"),
                completion_condition=texts.get("completionCondition"))
        return None

    @staticmethod
    def formal_expression(role: _Element) -> str | None:
        for assignment in role.bpmn("resourceAssignmentExpression"):
            for expression in assignment.bpmn("formalExpression"):
                return expression.content().strip()
        return None

    def catch_event(self, element: _Element, definitions: list[_Element],
                    common: dict[str, Any]) -> Node:
        if not definitions:
            raise self.error(element, f"{self.describe(element)} has no event definition; "
                             "mockidm supports message and signal catch events")
        if len(definitions) > 1:
            raise self.error(definitions[1], f"{self.describe(element)} has "
                             f"{len(definitions)} event definitions; mockidm supports one")
        definition = definitions[0]
        if definition.name == "timerEventDefinition":
            return Node(**common, **self.timer(element, definition))
        if definition.name == "messageEventDefinition":
            event, attribute, declared = MESSAGE, "messageRef", self.messages
        elif definition.name == "signalEventDefinition":
            event, attribute, declared = SIGNAL, "signalRef", self.signals
        else:
            raise self.error(definition, f"{self.describe(element)} with a {definition.name} "
                             "is not supported by mockidm (only timer, message and signal "
                             "events)")
        reference = definition.attr(attribute)
        if not reference:
            raise self.error(definition, f"{self.describe(element)}: attribute "
                             f"'{attribute}' is required")
        name = declared.get(_local(reference))
        if name is None:
            raise self.error(definition, f"{self.describe(element)}: {attribute} "
                             f"'{reference}' names no {event} declared in this file")
        return Node(**common, event=event, event_name=name)

    # errors, boundary events, call activities ---------------------------------------------------

    def error_code(self, definition: _Element) -> str | None:
        """The error code an errorEventDefinition names: its errorRef's declared errorCode,
        else the errorRef itself (Flowable's ErrorPropagation.retrieveErrorCode); None
        without an errorRef (a catch event then catches every error)."""
        reference = definition.attr("errorRef")
        if not reference:
            return None
        # A declared error without an errorCode gives None (not the reference).
        return self.errors[reference] if reference in self.errors else reference  # noqa: SIM401

    def boundary_event(self, element: _Element, definitions: list[_Element],
                       common: dict[str, Any]) -> Node:
        """A boundary event: the activity it is attached to, whether it interrupts it
        (`cancelActivity`, true unless "false", as Flowable's converter reads it) and its one
        event definition: timer, message, signal or error (its errorRef's errorCode; an error
        boundary event always interrupts, Flowable's BoundaryEventParseHandler)."""
        attached = element.attr("attachedToRef")
        if not attached:
            raise self.error(element, f"{self.describe(element)}: attribute 'attachedToRef' "
                             "is required")
        placed = {**common, "attached_to": attached,
                  "cancel_activity": (element.attr("cancelActivity") or "").strip().lower()
                  != "false"}
        if len(definitions) != 1:
            raise self.error(definitions[1] if definitions else element,
                             f"{self.describe(element)} has {len(definitions)} event "
                             "definitions; mockidm supports boundary events with one")
        definition = definitions[0]
        if definition.name == "errorEventDefinition":
            return Node(**{**placed, "cancel_activity": True}, event=ERROR,
                        event_name=self.error_code(definition))
        if definition.name == "timerEventDefinition":
            return Node(**placed, **self.timer(element, definition))
        if definition.name not in ("messageEventDefinition", "signalEventDefinition"):
            raise self.error(definition, f"{self.describe(element)} with a {definition.name} "
                             "is not supported by mockidm (only timer, message, signal and "
                             "error boundary events)")
        caught = self.catch_event(element, definitions, placed)
        return caught

    def timer(self, element: _Element, definition: _Element) -> dict[str, Any]:
        """A timerEventDefinition's one timeDate, timeDuration or timeCycle, as text."""
        found = [child for child in definition.bpmn()
                 if child.name in (TIME_DATE, TIME_DURATION, TIME_CYCLE)]
        if len(found) != 1:
            raise self.error(definition, f"{self.describe(element)}: a timer needs exactly "
                             "one of timeDate, timeDuration and timeCycle")
        text = found[0].content().strip()
        if not text:
            raise self.error(found[0], f"{self.describe(element)}: its {found[0].name} is "
                             "empty")
        return {"event": TIMER, "timer": found[0].name, "timer_value": text}

    def call_activity(self, element: _Element, common: dict[str, Any]) -> Node:
        called = (element.attr("calledElement") or "").strip()
        if not called:
            raise self.error(element, f"{self.describe(element)}: attribute 'calledElement' "
                             "is required")
        kind = element.ext("calledElementType")
        if kind not in (None, "", "key"):
            raise self.error(element, f"{self.describe(element)} has calledElementType "
                             f"'{kind}'; mockidm calls processes by key only")
        return Node(**common, called_element=called,
                    in_parameters=self.parameters(element, "in"),
                    out_parameters=self.parameters(element, "out"),
                    call_business_key=element.ext("businessKey") or None,
                    inherit_business_key=_boolean(element.ext("inheritBusinessKey"), False),
                    inherit_variables=_boolean(element.ext("inheritVariables"), False))

    def parameters(self, element: _Element, name: str) -> tuple[IOParameter, ...]:
        """A call activity's `activiti:in` or `activiti:out` elements, in document order."""
        found = []
        for extensions in element.bpmn("extensionElements"):
            for child in extensions.children:
                if child.name != name or child.ns not in EXTENSION_NAMESPACES:
                    continue
                source = child.attr("source") or None
                expression = (child.attr("sourceExpression") or "").strip() or None
                target = child.attr("target") or None
                if child.attr("targetExpression"):
                    raise self.error(child, f"activiti:{name} with a targetExpression is not "
                                     "supported by mockidm (give a target)")
                if target is None or (source is None) == (expression is None):
                    raise self.error(child, f"activiti:{name} needs a target and exactly one "
                                     "of source and sourceExpression")
                found.append(IOParameter(target, source, expression))
        return tuple(found)

    # fields ------------------------------------------------------------------------------------

    def script(self, element: _Element) -> ScriptText | None:
        """A script task's script: the text of its `script` child, run by engine/scripting.py;
        None when it has none (the task then passes through, as before)."""
        scripts = list(element.bpmn("script"))
        if not scripts:
            return None
        result = element.ext("resultVariable") or element.ext("resultVariableName") or None
        return ScriptText(scripts[0].content(), element.attr("scriptFormat") or None,
                          scripts[0].line,
                          (element.ext("autoStoreVariables") or "").strip() == "true", result)

    def fields(self, element: _Element) -> tuple[FieldValue, ...]:
        """The `activiti:field`s of a task: `stringValue` or an `activiti:string` child is
        literal text, `expression` or an `activiti:expression` child an expression."""
        found = []
        for extensions in element.bpmn("extensionElements"):
            for child in extensions.children:
                if child.name != "field" or child.ns not in EXTENSION_NAMESPACES:
                    continue
                name = child.attr("name")
                if not name:
                    raise self.error(child, "a field needs a name")
                value = self.field_value(child)
                if value is None:
                    raise self.error(child, f"field '{name}' has no value: give it a "
                                     "stringValue or expression attribute, or an "
                                     "activiti:string or activiti:expression element")
                found.append(FieldValue(name, value[0], value[1]))
        return tuple(found)

    @staticmethod
    def field_value(element: _Element) -> tuple[str, bool] | None:
        if (text := element.attr("stringValue")) is not None:
            return text, False
        if (text := element.attr("expression")) is not None:
            return text, True
        for child in element.children:
            if child.name in ("string", "expression") and child.ns in EXTENSION_NAMESPACES:
                return child.content(), child.name == "expression"
        return None

    # listeners ---------------------------------------------------------------------------------

    def listeners(self, element: _Element, name: str, events: tuple[str, ...]
                  ) -> tuple[Listener, ...]:
        """The `activiti:taskListener` / `activiti:executionListener` children of an element's
        extensionElements, in document order (the order the engine runs them in)."""
        found = []
        for extensions in element.bpmn("extensionElements"):
            for child in extensions.children:
                if child.name == name and child.ns in EXTENSION_NAMESPACES:
                    found.append(self.listener(child, events))
        return tuple(found)

    def listener(self, element: _Element, events: tuple[str, ...]) -> Listener:
        # A sequence flow's listeners are `take` listeners whatever they say (Activiti's
        # parser reads no event there).
        event = events[0] if events == ("take",) else (element.attr("event") or "").strip()
        if event not in events:
            raise self.error(element, f"{element.name} has the event '{event}'; "
                             f"{'one of ' if len(events) > 1 else ''}"
                             f"{', '.join(events)} is expected here")
        expression = element.attr("expression") or None
        delegate = element.attr("delegateExpression") or None
        implementation = element.attr("class") or None
        if (expression, delegate, implementation).count(None) != 2:
            raise self.error(element, f"{element.name} needs exactly one of the attributes "
                             "class, expression and delegateExpression")
        fields = {f.attr("name"): f for f in element.children if f.name == "field"}
        language = fields.get("language")
        script_language = (language.attr("stringValue") or language.content().strip() or None
                           ) if language is not None else None
        script = None
        if implementation is not None and implementation.endswith(
                ("ScriptTaskListener", "ScriptExecutionListener")) and "script" in fields:
            value = self.field_value(fields["script"])
            result = fields.get("resultVariable")
            script = None if value is None else ScriptText(
                value[0], script_language, fields["script"].line, False,
                None if result is None else (self.field_value(result) or ("",))[0] or None)
        return Listener(event=event, expression=expression, delegate_expression=delegate,
                        implementation=implementation, script_language=script_language,
                        script=script)

    # forms -------------------------------------------------------------------------------------

    def form_properties(self, element: _Element) -> tuple[FormProperty, ...]:
        found = []
        for extensions in element.bpmn("extensionElements"):
            for child in extensions.children:
                if child.name == "formProperty":
                    found.append(self.form_property(child))
        return tuple(found)

    def form_property(self, element: _Element) -> FormProperty:
        property_id = element.attr("id")
        if not property_id:
            raise self.error(element, "a formProperty needs an id")
        kind = element.attr("type") or None  # Activiti's FormTypes: no type, no form type
        if kind is not None and kind not in FORM_TYPES:
            raise self.error(element, f"form property '{property_id}' has the unknown type "
                             f"'{kind}' (known: {', '.join(sorted(FORM_TYPES))})")
        values = None
        if kind == "enum":
            values = {v.attr("id") or "": v.attr("name") or "" for v in element.children
                      if v.name.lower() == "value"}
        pattern = element.attr("datePattern") or None
        if kind == "date" and pattern is None:
            pattern = DEFAULT_DATE_PATTERN
        return FormProperty(
            id=property_id, name=element.attr("name"), type=kind, values=values,
            date_pattern=pattern, readable=_boolean(element.attr("readable"), True),
            writable=_boolean(element.attr("writable"), True),
            required=_boolean(element.attr("required"), False),
            default=element.attr("default"), variable=element.attr("variable"),
            expression=element.attr("expression"))

    # sequence flows ----------------------------------------------------------------------------

    def flows(self, elements: list[_Element], ids: dict[str, _Element]) -> list[Flow]:
        """The sequence flows; a flow without an id gets one, added to `ids`."""
        taken = {element.attr("id") for element in elements}
        flows = []
        for number, element in enumerate(elements, start=1):
            flow_id = element.attr("id")
            if not flow_id:
                # Older IDM samples leave flows unnamed; Activiti accepts that. A name with
                # '#' cannot be an XML id, so it clashes with no real one.
                flow_id = f"#flow{number}"
                while flow_id in taken or flow_id in ids:
                    flow_id += "_"
                ids[flow_id] = element
            for attribute in ("sourceRef", "targetRef"):
                if not element.attr(attribute):
                    raise self.error(element, f"sequence flow '{flow_id}' has no {attribute}")
            flows.append(Flow(flow_id, element.attr("sourceRef") or "",
                              element.attr("targetRef") or "", self.condition(element),
                              self.listeners(element, "executionListener", ("take",))))
        return flows

    @staticmethod
    def condition(element: _Element) -> str | None:
        expressions = list(element.bpmn("conditionExpression"))
        if not expressions:
            return None
        return expressions[-1].content().strip() or None  # Activiti: empty means none


# archives --------------------------------------------------------------------------------------


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, read before zipfile builds
    an object per entry (None when absent or in a zip64 record)."""
    position = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if position < 0 or position + 22 > len(data):
        return None
    (count,) = struct.unpack_from("<H", data, position + 10)
    return None if count == 0xFFFF else count


def _check_entry_name(entry: str, archive: str) -> None:
    if not entry or any(ord(char) < 32 for char in entry):
        raise BpmnError(archive, None, f"entry {entry!r} has an invalid name")
    if "\\" in entry:
        raise BpmnError(archive, None, f"entry {entry!r} has a backslash in its name")
    if entry.startswith("/") or _DRIVE.match(entry):
        raise BpmnError(archive, None, f"entry {entry!r} has an absolute path")
    if ".." in entry.split("/"):
        raise BpmnError(archive, None, f"entry {entry!r} leaves the archive ('..')")


def _read_zip(data: bytes, name: str) -> Iterator[tuple[str, bytes]]:
    """(entry name, content) for every file of the archive, directories left out, once the
    whole archive has passed every check."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise BpmnError(name, None, f"the archive is {len(data)} bytes; mockidm accepts "
                        f"archives up to {MAX_ARCHIVE_BYTES} bytes")
    declared = _declared_entry_count(data)
    if declared is not None and declared > MAX_ENTRIES:
        raise BpmnError(name, None, f"the archive has {declared} entries; mockidm accepts "
                        f"up to {MAX_ENTRIES}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        raise BpmnError(name, None, f"not a valid zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        _check_declared(infos, name)
        files = [info for info in infos if not info.is_dir()]
        contents = [_read_entry(archive, info, name) for info in files]
    return zip((info.filename for info in files), contents, strict=True)


def _check_declared(infos: list[zipfile.ZipInfo], name: str) -> None:
    if len(infos) > MAX_ENTRIES:
        raise BpmnError(name, None, f"the archive has {len(infos)} entries; mockidm accepts "
                        f"up to {MAX_ENTRIES}")
    seen: set[str] = set()
    total = 0
    for info in infos:
        entry = info.filename
        _check_entry_name(entry, name)
        if entry in seen:
            raise BpmnError(name, None, f"entry '{entry}' appears twice")
        seen.add(entry)
        if info.flag_bits & 0x1:
            raise BpmnError(name, None, f"entry '{entry}' is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BpmnError(name, None, f"entry '{entry}' uses compression method "
                            f"{info.compress_type}; only stored and deflated are supported")
        _check_ratio(entry, info.file_size, info.compress_size, name)
        total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise BpmnError(name, None, f"the archive expands to more than "
                            f"{MAX_UNCOMPRESSED_BYTES} bytes")


def _check_ratio(entry: str, size: int, compressed: int, name: str) -> None:
    if size > RATIO_CHECK_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise BpmnError(name, None, f"entry '{entry}' expands {size} bytes from {compressed} "
                        f"(more than {MAX_COMPRESSION_RATIO}:1); refused as a zip bomb")


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """Read one entry in chunks, trusting no header: the reader is told the entry may be one
    byte longer than declared, so an entry that inflates beyond its declared size is seen
    (and stopped) instead of being cut short silently."""
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1
    chunks, size = [], 0
    try:
        with archive.open(probe) as stream:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > info.file_size:
                    raise BpmnError(name, None, f"entry '{info.filename}' expands beyond the "
                                    f"{info.file_size} bytes its header declares")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise BpmnError(name, None, f"entry '{info.filename}' is corrupt or larger than its "
                        f"header declares ({exc})") from None
    _check_ratio(info.filename, size, info.compress_size, name)
    return b"".join(chunks)
