"""Many clients at once: nothing lost, nothing doubled, one winner per race.

The server is one event-loop thread; every engine call runs under the state's lock with no
`await` between an access check, its engine call and the answer. These tests drive it the way
parallel test workers do: many connections, each sending its next request as soon as it has the
answer to the last, while the test's own thread reads the journal.
"""

from __future__ import annotations

import asyncio
import threading
import time

import aiohttp
import pytest
import requests

from mockidm import MockIDM
from mockidm.server import ThreadedServer

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
INSTANCES = "workflow/processinstance"
TASKS = "workflow/taskinstance"

CLIENTS = 50
CREATES = 200
QUERY_EVERY = 10  # a query by business key after every 10th create
# Every 10th client also lists all instances half-way and at its end (each such query shapes
# every instance: from all 50 clients they would take most of the run).
ALL_IDS_AT = (CREATES // 2, CREATES - 1)
ALL_IDS_CLIENTS = 10


@pytest.fixture
def mock(mock: MockIDM) -> MockIDM:
    """conftest's served mock (no journal limit: every request must stay in it), with the
    samples."""
    mock.deploy_samples()
    return mock


def user_headers(name: str) -> dict[str, str]:
    return {"X-OpenIDM-Username": name, "X-OpenIDM-Password": f"{name}-pw",
            "X-OpenIDM-NoSession": "true"}


class Tally:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.errors: list[str] = []
        self.requests = 0

    def error(self, what: str, status: int, text: str) -> None:
        self.errors.append(f"{what}: {status} {text[:200]}")


async def worker(url: str, n: int, tally: Tally) -> None:
    """One client: 200 creates on one connection, with queries between them."""
    connector = aiohttp.TCPConnector(limit=1)  # one connection per client, as a test worker
    async with aiohttp.ClientSession(headers=ADMIN, connector=connector) as http:
        mine: list[str] = []
        for i in range(CREATES):
            key = f"client{n:02d}-{i:03d}"
            async with http.post(f"{url}/{INSTANCES}?_action=create",
                                 json={"_key": "contractorOnboarding", "_businessKey": key,
                                       "contractorName": key}) as r:
                tally.requests += 1
                text = await r.text()
                if r.status != 201:
                    tally.error("create", r.status, text)
                    continue
                mine.append((await r.json())["_id"])
            if i % QUERY_EVERY == 0:
                async with http.get(f"{url}/{INSTANCES}?_queryId=filtered-query"
                                    f"&processInstanceBusinessKey={key}") as r:
                    tally.requests += 1
                    body = await r.json()
                    if r.status != 200 or [x["_id"] for x in body["result"]] != mine[-1:]:
                        tally.error("query by business key", r.status, str(body))
            if n % ALL_IDS_CLIENTS == 0 and i in ALL_IDS_AT:
                async with http.get(f"{url}/{INSTANCES}?_queryId=query-all-ids") as r:
                    tally.requests += 1
                    body = await r.json()
                    seen = {x["_id"] for x in body.get("result", [])}
                    if r.status != 200 or not set(mine) <= seen:
                        tally.error("query-all-ids mid-run", r.status,
                                    f"{len(set(mine) - seen)} of this client's ids missing")
        tally.created.extend(mine)


@pytest.mark.slow  # fifty clients, thousands of requests
def test_fifty_clients_creating_and_querying_lose_nothing(mock):
    tally = Tally()
    stop = threading.Event()
    reader_errors: list[BaseException] = []

    def read_the_journal_meanwhile() -> None:
        # What a test's thread does while the server serves: it must see a consistent journal.
        try:
            while not stop.is_set():
                entries = mock.requests()
                seqs = [e.seq for e in entries]
                assert seqs == sorted(set(seqs)), "journal sequence numbers out of order"
                time.sleep(0.25)
        except BaseException as exc:
            reader_errors.append(exc)

    reader = threading.Thread(target=read_the_journal_meanwhile)
    reader.start()
    started = time.perf_counter()
    try:
        async def run() -> None:
            await asyncio.gather(*(worker(mock.url, n, tally) for n in range(CLIENTS)))
        asyncio.run(run())
    finally:
        stop.set()
        reader.join()
    elapsed = time.perf_counter() - started
    print(f"\n{tally.requests} requests by {CLIENTS} clients in {elapsed:.2f}s: "
          f"{tally.requests / elapsed:.0f} requests/s, {len(tally.errors)} errors")

    assert tally.errors == []
    assert reader_errors == []
    assert len(tally.created) == CLIENTS * CREATES
    assert len(set(tally.created)) == CLIENTS * CREATES, "an id was given twice"

    listed = requests.get(f"{mock.url}/{INSTANCES}?_queryId=query-all-ids", headers=ADMIN,
                          timeout=30).json()["result"]
    listed_ids = [item["_id"] for item in listed]
    assert len(listed_ids) == len(set(listed_ids)), "query-all-ids lists an instance twice"
    assert sorted(listed_ids) == sorted(tally.created)

    assert len(mock.requests("createProcessInstance")) == CLIENTS * CREATES
    journal = mock.requests()
    assert len(journal) == tally.requests + 1
    assert [e.seq for e in journal] == list(range(1, len(journal) + 1))
    assert [e for e in journal if not 200 <= e.status < 300] == []
    assert mock.unserved() == []


def prepare_race(mock: MockIDM, claimants: int) -> tuple[str, list[str]]:
    """A fresh task, and `claimants` administrators who may claim it."""
    names = [f"claimant{n:02d}" for n in range(claimants)]
    for name in names:
        mock.add_user(name, f"{name}-pw", ["openidm-admin", "openidm-authorized"])
    instance = mock.start_process("contractorOnboarding", variables={"contractorName": "x"})
    [task] = mock.tasks(instance.id)
    assert task.assignee is None
    return task.id, names


async def claim_all_at_once(urls: list[str], task_id: str, names: list[str]
                            ) -> list[tuple[str, int, dict]]:
    """Each name claims the task for itself on its own connection; the connections are open
    beforehand and the claims are released together, so they really are in flight at once."""
    sessions = [aiohttp.ClientSession(headers=user_headers(name)) for name in names]
    go = asyncio.Event()
    try:
        for http, name, url in zip(sessions, names, urls * len(names), strict=False):
            async with http.get(f"{url}/workflow/processdefinition?_queryId=query-all-ids") as r:
                assert r.status == 200, f"{name}: {await r.text()}"  # connection now pooled

        async def claim(http: aiohttp.ClientSession, name: str, url: str
                        ) -> tuple[str, int, dict]:
            await go.wait()
            async with http.post(f"{url}/{TASKS}/{task_id}?_action=claim",
                                 json={"userId": name}) as r:
                return name, r.status, await r.json()

        calls = [asyncio.ensure_future(claim(http, name, url))
                 for http, name, url in zip(sessions, names, urls * len(names), strict=False)]
        await asyncio.sleep(0.05)
        go.set()
        return await asyncio.gather(*calls)
    finally:
        for http in sessions:
            await http.close()


def check_one_winner(mock: MockIDM, task_id: str, outcomes: list[tuple[str, int, dict]]
                     ) -> str:
    winners = [(name, body) for name, status, body in outcomes if status == 200]
    assert len(winners) == 1, f"{len(winners)} claims succeeded: {outcomes}"
    [(winner, body)] = winners
    assert body == {"Task action performed": "claim"}
    losers = [(status, body) for name, status, body in outcomes if name != winner]
    assert len(losers) == len(outcomes) - 1
    refusal = {"code": 500, "reason": "Internal Server Error",
               "message": f"Task &#39;{task_id}&#39; is already claimed by someone else."}
    assert losers == [(500, refusal)] * len(losers)
    [task] = [t for t in mock.tasks() if t.id == task_id]
    assert task.assignee == winner
    claims = mock.requests("actOnTaskInstance")
    assert sorted(e.status for e in claims) == [200] + [500] * len(losers)
    assert [e.user for e in claims if e.status == 200] == [winner]
    return winner


def test_twenty_users_racing_to_claim_one_task_one_wins(mock):
    winners = set()
    for _ in range(5):  # a few rounds: a race that is only sometimes lost still shows
        mock.clear_journal()
        task_id, names = prepare_race(mock, 20)
        outcomes = asyncio.run(claim_all_at_once([mock.url], task_id, names))
        winners.add(check_one_winner(mock, task_id, outcomes))
    assert winners  # who wins is up to the scheduler; that one does is not


def test_a_claim_race_across_two_server_threads_sharing_one_mock_has_one_winner():
    """Two servers (two event loops, two threads) over one state: only the lock orders them."""
    mock = MockIDM()
    mock.deploy_samples()
    with ThreadedServer(mock.app) as first, ThreadedServer(mock.app) as second:
        for _ in range(5):
            mock.clear_journal()
            task_id, names = prepare_race(mock, 20)
            outcomes = asyncio.run(claim_all_at_once([first.url, second.url], task_id, names))
            check_one_winner(mock, task_id, outcomes)


def test_creates_through_two_server_threads_sharing_one_mock_get_distinct_ids():
    mock = MockIDM()
    mock.deploy_samples()
    tally = Tally()
    with ThreadedServer(mock.app) as first, ThreadedServer(mock.app) as second:
        async def run() -> None:
            await asyncio.gather(*(worker(url, n, tally) for n, url in
                                   enumerate([first.url, second.url] * 3)))
        asyncio.run(run())
    assert tally.errors == []
    assert len(set(tally.created)) == len(tally.created) == 6 * CREATES
    journal = mock.requests()
    assert len(journal) == tally.requests
    assert sorted(e.seq for e in journal) == list(range(1, len(journal) + 1))


def test_the_journal_can_be_read_under_the_lock_while_the_server_records(mock):
    """What the pytest plugin does for a failure report: render the journal under the state's
    lock while requests still arrive. The server must record them under that lock too, or
    the rendering meets `deque mutated during iteration`."""
    stop = threading.Event()

    async def load() -> None:
        async with aiohttp.ClientSession(headers=ADMIN) as http:
            while not stop.is_set():
                async with http.get(f"{mock.url}/workflow/processdefinition"
                                    "?_queryId=query-all-ids") as r:
                    assert r.status == 200

    loaders = [threading.Thread(target=asyncio.run, args=(load(),)) for _ in range(3)]
    for loader in loaders:
        loader.start()
    try:
        # Render until the server has recorded 100 requests meanwhile (bounded in time): a
        # busy machine only makes this take longer.
        end = time.monotonic() + 20
        renders = 0
        while len(mock.requests()) < 100 and time.monotonic() < end:
            with mock.state.lock:
                mock.journal.render()
            renders += 1
            time.sleep(0.001)  # let the server take the lock between renders
    finally:
        stop.set()
        for loader in loaders:
            loader.join()
    assert renders and len(mock.requests()) >= 100
