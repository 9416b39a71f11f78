"""Publishing: an event exists only if the change it reports was committed, in commit order.

Real transactions against the test database (outside pytest-django's per-test transaction, so
commits happen), read back as the push service reads them: a LISTEN connection and the table.
"""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from django.db import connection, transaction

from gisgrid.push import store
from gisgrid.push.audience import Audience, Viewer
from gisgrid.push.publish import publish, publish_many

EVERYONE = Audience.of(everyone_signed_in=True)


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Django's connection to the test database in autocommit mode, and a LISTEN connection;
    the rows a test wrote are deleted after it."""
    with django_db_blocker.unblock():
        params = {k: v for k, v in connection.get_connection_params().items()
                  if isinstance(v, str | int) and k != "prepare_threshold"}
        marker = uuid.uuid4().hex
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute("LISTEN gisgrid_push")
            yield marker, listener, params
        with connection.cursor() as cur:
            cur.execute("DELETE FROM push_pushevent WHERE data->>'marker' = %s", [marker])


def notified(listener, wait: float) -> int:
    return sum(1 for _ in listener.notifies(timeout=wait))


def rows(marker: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute("SELECT seq, kind, data->>'n' FROM push_pushevent WHERE data->>'marker' = %s ORDER BY id",
                    [marker])
        return cur.fetchall()


def test_a_rolled_back_change_publishes_nothing(committed):
    marker, listener, _ = committed
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("edition", {"marker": marker, "n": "0"}, EVERYONE)
        raise RuntimeError("the change fails after publishing")
    assert notified(listener, 0.5) == 0 and rows(marker) == []
    # A savepoint rolled back inside a committed transaction takes its event with it.
    with transaction.atomic():
        publish("edition", {"marker": marker, "n": "1"}, EVERYONE)
        with pytest.raises(RuntimeError), transaction.atomic():
            publish("edition", {"marker": marker, "n": "2"}, EVERYONE)
            raise RuntimeError
    got = rows(marker)
    assert [n for _s, _k, n in got] == ["1"] and got[0][0] is not None
    assert notified(listener, 2.0) == 1


def test_many_events_in_one_transaction_get_consecutive_ids_and_one_notify(committed):
    marker, listener, _ = committed
    with transaction.atomic():
        publish_many([("case", {"marker": marker, "n": str(i)}, Audience.of(roles=["dispatcher"]))
                      for i in range(5)])
        assert [s for s, _k, _n in rows(marker)] == [None] * 5  # ids are given at commit
    seqs = [s for s, _k, _n in rows(marker)]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert notified(listener, 2.0) == 1  # NOTIFY folds identical payloads of one transaction
    with pytest.raises(ValueError):
        publish("weather", {}, EVERYONE)


def test_ids_follow_commit_order_not_insert_order(committed):
    """A transaction that inserted first but commits last gets the later id: a reader that has
    seen id N never sees a smaller one appear afterwards, so resuming after N loses nothing."""
    marker, _listener, params = committed
    first = psycopg.connect(**params)
    first.execute("INSERT INTO push_pushevent (at, kind, data, everyone_signed_in, roles, user_ids, unit_ids,"
                  " grid_codes) VALUES (now(), 'edition', %s, true, '{}', '{}', '{}', '{}')",
                  [f'{{"marker": "{marker}", "n": "first"}}'])
    with transaction.atomic():
        publish("edition", {"marker": marker, "n": "second"}, EVERYONE)
    first.commit()
    first.close()
    by_n = {n: s for s, _k, n in rows(marker)}
    assert by_n["second"] < by_n["first"]


def test_changes_reads_what_the_viewer_may_see_and_says_when_to_reset(committed):
    marker, _listener, _ = committed
    before = store.latest()
    with transaction.atomic():
        publish_many([("case", {"marker": marker, "n": "unit"}, Audience.of(unit_ids=[5])),
                      ("case", {"marker": marker, "n": "all"}, Audience.of(roles=["dispatcher"])),
                      ("notice", {"marker": marker, "n": "note"}, Audience.of(user_ids=[42]))])
    dispatcher = Viewer(1, frozenset({"dispatcher"}))
    reset, last, events = store.changes(dispatcher, before, None, 100)
    mine = [e for e in events if marker in e.data]
    assert not reset and [e.kind for e in mine] == ["case"] and '"all"' in mine[0].data
    assert last >= max(e.seq for e in mine)
    reset, _last, events = store.changes(Viewer(42), before, frozenset({"case"}), 100)
    assert not reset and not [e for e in events if marker in e.data]
    assert store.changes(dispatcher, last + 1_000_000, None, 10)[0] is True  # an id never given


def test_concurrent_publishers_never_make_a_reader_skip(committed):
    marker, _listener, _ = committed
    before = store.latest()

    def writer(k: int) -> None:
        for i in range(20):
            with transaction.atomic():
                publish("edition", {"marker": marker, "n": f"{k}-{i}"}, EVERYONE)
        connection.close()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    seen, cursor, viewer = [], before, Viewer(1)
    while any(t.is_alive() for t in threads) or len(seen) < 80:
        _reset, cursor, events = store.changes(viewer, cursor, None, 1000)
        seen += [e.seq for e in events if marker in e.data]
        if not any(t.is_alive() for t in threads) and not events:
            break
    for t in threads:
        t.join()
    assert len(seen) == 80 and seen == sorted(seen)
