"""The shipped docs stand on their own: no doc, spec or contract rule cites the internal
behavioural reference (a file users do not have), every rule cites a docs page that exists,
down to its section, and every link between the docs lands on a file and a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockidm.contract.cli import listing
from mockidm.contract.rules import catalogue

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
SHIPPED = [*DOCS, ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "openapi.yaml",
           ROOT / "admin-openapi.yaml", *sorted((ROOT / "contracts").glob("*.json"))]
# How the internal reference was cited: its name, its folder, its section sign.
INTERNAL = re.compile(r"idm-workflow-reference|shared/|§")
LINK = re.compile(r"\]\(([^)#\s]+\.md)?(?:#([^)\s]+))?\)")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces
    to hyphens."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#+ (.*)", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


def test_the_docs_pages_are_there() -> None:
    names = {p.name for p in DOCS}
    assert {"common-rest.md", "authentication.md", "process-definitions.md",
            "process-instances.md", "task-instances.md", "executions-and-jobs.md",
            "helper-endpoints.md", "engine.md", "profiles.md", "sources.md"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_no_shipped_doc_cites_the_internal_reference(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    cited = [line for line in text.splitlines() if INTERNAL.search(line)]
    assert cited == [], f"{path.name} cites the internal reference: {cited[:3]}"


def test_no_rule_cites_the_internal_reference() -> None:
    assert not INTERNAL.search(listing(catalogue()))


def test_the_package_cites_docs_pages_not_reference_sections() -> None:
    """The code ships too: its comments point at docs pages, not at numbered sections."""
    numbered = re.compile(r"\breference (?:section|\d)|§")
    cited = [f"{path.relative_to(ROOT)}:{number}"
             for path in sorted((ROOT / "mockidm").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if numbered.search(line)]
    assert cited == []


@pytest.mark.parametrize("rule", catalogue(), ids=lambda r: r.id)
def test_every_rule_cites_docs_pages_that_exist(rule) -> None:
    for reference in rule.section.split(", "):
        page, _, anchor = reference.partition("#")
        assert page.startswith("docs/") and (ROOT / page).is_file(), (rule.id, reference)
        if anchor:
            assert anchor in anchors(ROOT / page), (rule.id, reference)


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_links_between_the_docs_land(page: Path) -> None:
    for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http:", "https:")):
            continue
        linked = (page.parent / target) if target else page
        assert linked.is_file(), (page.name, target)
        if anchor:
            assert anchor in anchors(linked), (page.name, target, anchor)
