"""The inspector in a real headless browser: Debian's Chromium driven by Playwright, against a
live `mockidm serve` started here. The issue's click-through, with a screenshot of each page
written to artifacts/ui/ (CI keeps it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
HOSTILE = '<img src=x onerror="alert(1)">order-<b>bold</b>'

pytestmark = pytest.mark.slow

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must install Chromium ({CHROMIUM} is missing): see .ci/run")
    pytest.skip("no Chromium (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`mockidm serve --port 0` with the samples; its origin."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MOCKIDM_ADMIN_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "mockidm", "serve", "--port", "0",
                                "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r"serving (http://\S+?)/openidm", process.stdout.readline())
        assert found, process.stderr.read() if process.stderr else ""
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    context.close()
    assert dialogs == [], f"a page ran a script it was sent as data: {dialogs}"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_click_through(server: str, page: Any) -> None:
    ui = f"{server}/__mockidm/ui/"
    expect = sync_api.expect
    p = page
    # 1. open a definition, see its diagram
    p.goto(ui)
    _shot(p, "1-definitions")
    p.get_by_role("link", name="contractorOnboarding:2:4").click()
    expect(p.locator("svg.diagram g.node.userTask[data-node=managerApproval]")).to_be_visible()
    expect(p.locator("svg.diagram g.node.exclusiveGateway")).to_have_count(1)
    expect(p.locator("svg.diagram g.flow")).to_have_count(5)
    _shot(p, "2-definition")

    # 2. start an instance over REST, watch it appear without a reload
    p.goto(ui + "instances")
    expect(p.locator("#live.on")).to_have_count(1)  # the live stream is open
    p.evaluate("window.notReloaded = true")
    started = requests.post(f"{server}/openidm/workflow/processinstance?_action=create",
                            headers=ADMIN, timeout=10,
                            json={"_key": "contractorOnboarding", "_businessKey": "order-42",
                                  "contractorName": "Ann Smith"})
    assert started.status_code == 201, started.text
    instance_id = started.json()["_id"]
    row = p.locator(f"tr[data-instance='{instance_id}']")
    expect(row).to_contain_text("order-42", timeout=10_000)
    assert p.evaluate("window.notReloaded") is True
    # a business key holding HTML shows as text, and runs nothing (see the page fixture)
    requests.post(f"{server}/openidm/workflow/processinstance?_action=create", headers=ADMIN,
                  timeout=10, json={"_key": "contractorOnboarding", "_businessKey": HOSTILE,
                                    "contractorName": "Mallory"})
    expect(p.locator("td.bk", has_text=HOSTILE)).to_have_count(1, timeout=10_000)
    expect(p.locator("td.bk img, td.bk b")).to_have_count(0)
    _shot(p, "3-instances-live")

    # 3. open it, see the current task highlighted
    row.get_by_role("link", name=instance_id).click()
    active = p.locator("svg.diagram g.node.active")
    expect(active).to_have_count(1)
    expect(active).to_have_attribute("data-node", "managerApproval")
    _shot(p, "4-instance-waiting")

    # 4. complete the task from the page, taking the reject path
    form = p.locator("form.complete").first
    form.locator("select[name='as']").select_option("openidm-admin")
    form.locator("select[name='var.decision']").select_option("reject")
    form.locator("input[name='var.comment']").fill("no budget")
    form.get_by_role("button", name="Complete").click()
    expect(p.locator("#note.ok")).to_contain_text("_action=complete as openidm-admin: 200")
    expect(p.locator("svg.diagram g.node.active")).to_have_count(0)
    expect(p.locator("svg.diagram g.node.visited[data-node=contractorRejected]")).to_have_count(1)
    expect(p.locator("svg.diagram g.node.visited[data-node=hrSetup]")).to_have_count(0)
    expect(p.locator("svg.diagram g.flow.taken[data-flow=rejected]")).to_have_count(1)
    expect(p.locator("main")).to_contain_text("ended at")
    _shot(p, "5-instance-rejected")

    # 5. the journal entry of that request, and its whole exchange
    p.get_by_role("link", name="Journal").click()
    entry = p.locator("#journal tbody tr", has_text="_action=complete").first
    expect(entry).to_contain_text("actOnTaskInstance")
    expect(entry).to_contain_text("openidm-admin")
    expect(entry).to_contain_text("200")
    _shot(p, "6-journal")
    entry.locator("a").first.click()
    expect(p.locator("main")).to_contain_text('"decision": "reject"')
    expect(p.locator("main")).to_contain_text('"comment": "no budget"')
    expect(p.locator("main")).to_contain_text("********")  # the password, redacted
    _shot(p, "7-exchange")

    # 6. the controls: freeze the clock from the page
    p.get_by_role("link", name="Controls").click()
    p.get_by_role("button", name="Freeze", exact=True).click()
    expect(p.locator("#note.ok")).to_contain_text("(frozen)")
    expect(p.locator(".clock.frozen")).to_have_count(1)
    _shot(p, "8-controls")
    # the pages asked the mock for nothing it journals (no /favicon.ico)
    journal = requests.get(f"{server}/__mockidm/journal", timeout=10).json()
    assert [e["unserved"] for e in journal if e["unserved"]] == []


def test_a_timer_escalates_when_the_clock_is_advanced_past_it(server: str, page: Any) -> None:
    bpmn = (ROOT / "tests/http/timer_workflows/access_escalation.bpmn20.xml").read_text()
    deployed = requests.post(f"{server}/__mockidm/definitions", timeout=10,
                             json={"bpmn": bpmn, "name": "access_escalation.bpmn20.xml"})
    assert deployed.status_code == 201, deployed.text
    started = requests.post(f"{server}/openidm/workflow/processinstance?_action=create",
                            headers=ADMIN, timeout=10,
                            json={"_key": "accessEscalation", "_businessKey": "access-7",
                                  "manager": "openidm-admin"})
    assert started.status_code == 201, started.text
    instance = f"{server}/__mockidm/ui/instances/{started.json()['_id']}"
    expect, p = sync_api.expect, page
    p.goto(instance)
    expect(p.locator("svg.diagram g.node.active")).to_have_attribute("data-node",
                                                                     "managerApproval")
    expect(p.locator("svg.diagram g.node.boundaryEvent[data-node=approvalOverdue]")
           ).to_have_count(1)
    expect(p.locator("tr[data-job]")).to_contain_text("approvalOverdue")
    _shot(p, "9-timer-waiting")

    p.get_by_role("link", name="Controls").click()
    p.get_by_role("button", name="Freeze", exact=True).click()
    p.locator("input[name=seconds]").fill(str(73 * 3600))
    p.get_by_role("button", name="Advance").click()
    expect(p.locator("#note.ok")).to_contain_text("1 timer(s) fired: approvalOverdue")
    _shot(p, "10-clock-advanced")

    p.goto(instance)
    expect(p.locator("svg.diagram g.node.active")).to_have_attribute("data-node",
                                                                     "escalatedApproval")
    expect(p.locator("svg.diagram g.node.visited[data-node=approvalOverdue]")).to_have_count(1)
    expect(p.locator("svg.diagram g.flow.taken[data-flow=toEscalation]")).to_have_count(1)
    expect(p.locator("article.task")).to_contain_text("Escalated: approve access for")
    expect(p.locator("tr[data-job]")).to_have_count(0)
    _shot(p, "11-escalated")
    requests.post(f"{server}/__mockidm/clock", json={"unfreeze": True}, timeout=10)
