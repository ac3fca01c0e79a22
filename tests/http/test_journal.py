"""The journal's limits: a count of exchanges and a budget of body bytes, oldest dropped first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockidm.http.journal import Exchange, Journal

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(journal: Journal, request: int, answer: int | None = None) -> Exchange:
    exchange = journal.open(NOW, "POST", "/openidm/x", [], {}, b"q" * request)
    if answer is not None:
        journal.answered(exchange, 200, b"a" * answer)
    return exchange


def kept(journal: Journal) -> list[int]:
    return [e.seq for e in journal.entries()]


def test_the_budget_drops_the_oldest_bodies_first():
    journal = Journal(max_bytes=100)
    record(journal, 10, 20)
    record(journal, 10, 20)
    record(journal, 10, 20)
    assert kept(journal) == [1, 2, 3]  # 90 bytes
    record(journal, 5, 10)  # 105: the first goes
    assert kept(journal) == [2, 3, 4]
    record(journal, 0, 61)  # 136: the second and third go
    assert kept(journal) == [4, 5]


def test_an_answer_counts_when_it_arrives():
    journal = Journal(max_bytes=100)
    first = record(journal, 10)
    second = record(journal, 10)
    journal.answered(first, 200, b"a" * 85)  # 105: the first goes, answered or not
    assert kept(journal) == [2]
    journal.answered(second, 200, b"a" * 20)
    assert kept(journal) == [2]
    assert journal.entries()[0].raw_response == b"a" * 20


def test_the_newest_exchange_is_kept_however_large():
    journal = Journal(max_bytes=10)
    record(journal, 1, 1)
    record(journal, 500, 5000)
    assert kept(journal) == [2]
    assert len(journal.entries()[0].raw_response) == 5000


def test_an_answer_to_a_dropped_request_costs_nothing():
    journal = Journal(max_bytes=100)
    early = record(journal, 10)
    record(journal, 95)  # 105: the early request goes before it is answered
    assert kept(journal) == [2]
    journal.answered(early, 200, b"a" * 50)  # not journaled any more: not counted
    assert early.status == 200
    record(journal, 5)  # 100 exactly: both stay (they would not if the 50 bytes counted)
    assert kept(journal) == [2, 3]


def test_the_count_limit_and_the_budget_agree():
    journal = Journal(limit=2, max_bytes=100)
    record(journal, 60)
    record(journal, 30)
    record(journal, 30)  # the count drops the first: 60 bytes, within budget
    assert kept(journal) == [2, 3]
    record(journal, 30)
    assert kept(journal) == [3, 4]


def test_clearing_empties_the_budget_too():
    journal = Journal(max_bytes=100)
    record(journal, 90)
    journal.clear()
    record(journal, 60)
    record(journal, 40)
    assert kept(journal) == [1, 2]


def test_a_budget_must_hold_something():
    with pytest.raises(ValueError):
        Journal(max_bytes=0)
