"""Group commit (gisgrid/patrols/ingest/group_commit.py) against the real database.

Requests are forced into one group the way load does it: while the committer waits for a
device row that another connection holds locked, the next requests queue up behind it, and all
of them go in the next group together. No timing is asserted: "not answered yet" is checked
while the committer provably cannot finish (it is waiting on the lock, as pg_locks shows).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import psycopg
import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from gisgrid.patrols.ingest import auth, group_commit, pipeline
from gisgrid.patrols.ingest.pipeline import Submission
from gisgrid.patrols.ingest.records import BadFix, Fix
from gisgrid.patrols.models import Device, DeviceCounter, Position, RejectedPosition

TOWN = (110.1496, 35.2377)
M_LON = 111_320.0 * np.cos(np.radians(TOWN[1]))


def dsn() -> str:
    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT']} dbname={s['NAME']} user={s['USER']} password={s['PASSWORD']}"


@pytest.fixture
def committer(transactional_db):
    c = group_commit.GroupCommitter()
    yield c
    c.stop()
    group_commit.shutdown()


def device(ident: str) -> tuple[Device, str]:
    d = Device(identifier=ident)
    token = auth.set_token(d)
    d.save()
    return d, token


def fix(ident: str, t: dt.datetime, east_m: float = 0.0, lat: float = TOWN[1]) -> Fix:
    return Fix(ident, lat, TOWN[0] + east_m / M_LON, t, speed=1.3, accuracy=8)


def sub(d: Device, *items, token: str | None = None) -> Submission:
    creds = {d.identifier: auth.hash_token(token)} if token else None
    return Submission(list(items), {d.identifier: d}, "osmand", timezone.now(), credentials=creds)


class Held:
    """A device row locked by another connection, so the committer blocks on it."""

    def __init__(self, d: Device):
        self.conn = psycopg.connect(dsn())
        self.conn.execute("SELECT 1 FROM patrols_device WHERE id = %s FOR UPDATE", [d.pk])
        self.watch = psycopg.connect(dsn(), autocommit=True)

    def someone_waits(self) -> bool:
        n = self.watch.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                               ).fetchone()[0]
        return n > 0

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.watch.close()


def until(cond, what: str, limit_s: float = 30.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.01)


class Call(threading.Thread):
    """One request submitted from its own thread, as a gunicorn request thread would."""

    def __init__(self, c: group_commit.GroupCommitter, s: Submission, check_visible: bool = False):
        super().__init__()
        self.c, self.s, self.check_visible = c, s, check_visible
        self.result = self.error = None
        self.visible_at_answer: int | None = None
        self.answered = threading.Event()

    def run(self) -> None:
        try:
            self.result = self.c.submit(self.s)
            if self.check_visible:
                # Seen from a connection of its own, the moment the answer came back.
                with psycopg.connect(dsn()) as other:
                    ids = [f.device for f in self.s.items]
                    self.visible_at_answer = other.execute(
                        "SELECT count(*) FROM patrols_position p JOIN patrols_device d ON d.id = p.device_id "
                        "WHERE d.identifier = ANY(%s)", [ids]).fetchone()[0]
        except BaseException as exc:  # the test looks at it
            self.error = exc
        finally:
            self.answered.set()
            connection.close()


def merged(c: group_commit.GroupCommitter, blocker: Device, subs: list[Submission]) -> list[Call]:
    """Run `subs` as one group: a first request blocks on `blocker`'s locked row, the others
    queue behind it in order, then the lock goes."""
    held = Held(blocker)
    first = Call(c, sub(blocker, fix(blocker.identifier, timezone.now() - dt.timedelta(minutes=50))))
    first.start()
    until(held.someone_waits, "the committer to wait for the held row")
    calls = []
    for k, s in enumerate(subs):
        call = Call(c, s)
        call.start()
        until(lambda k=k: c.pending() == k + 1, "the request to queue")
        calls.append(call)
    groups = c.stats.groups
    held.release()
    for call in [first, *calls]:
        call.join(60)
    assert c.stats.groups == groups + 1, "the queued requests went in one group"
    assert first.error is None
    return calls


def test_merged_requests_each_get_their_own_outcomes(committer):
    a, _ = device("phone-a")
    b, _ = device("phone-b")
    blocker, _ = device("phone-blocker")
    t0 = timezone.now() - dt.timedelta(minutes=30)
    pipeline.ingest([fix("phone-a", t0)], {"phone-a": a}, source="osmand")
    calls = merged(committer, blocker, [
        sub(a, fix("phone-a", t0)),                                   # 0: a replay of a stored fix
        sub(a, fix("phone-a", t0 + dt.timedelta(seconds=5), 6.5)),    # 1: new
        sub(b, Fix("phone-b", 0.0, 0.0, t0)),                         # 2: zero
        sub(b, BadFix("phone-b", "lat", "not a number: 'x'", {"lat": "x"})),  # 3: malformed
        sub(b, fix("phone-b", t0 + dt.timedelta(seconds=10))),       # 4: new
        sub(b, fix("phone-b", t0 + dt.timedelta(seconds=10))),       # 5: the same fix again
        # 6: 2 km off between 4 and 7: a spike only the other requests of the group reveal
        sub(b, fix("phone-b", t0 + dt.timedelta(seconds=15), 2000)),
        sub(b, fix("phone-b", t0 + dt.timedelta(seconds=20), 13)),   # 7: new
        sub(a, fix("phone-a", t0 + dt.timedelta(seconds=10), 13), fix("phone-a", t0)),  # 8: two items
    ])
    assert [c.error for c in calls] == [None] * len(calls)
    got = [[(o.index, o.status, o.reasons) for o in c.result.outcomes] for c in calls]
    assert got == [
        [(0, "duplicate", [])],
        [(0, "accepted", [])],
        [(0, "rejected", ["zero"])],
        [(0, "rejected", ["invalid"])],
        [(0, "accepted", [])],
        [(0, "duplicate", [])],
        [(0, "rejected", ["max_speed"])],
        [(0, "accepted", [])],
        [(0, "accepted", []), (1, "duplicate", [])],
    ]
    assert "lat" in calls[3].result.outcomes[0].detail
    assert Position.objects.filter(device=a).count() == 3
    assert Position.objects.filter(device=b).count() == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.accepted_count, b.accepted_count) == (3, 2)
    assert a.last_fix_time == t0 + dt.timedelta(seconds=10)
    assert b.last_fix_time == t0 + dt.timedelta(seconds=20)
    counts = {(c.device_id, c.name): c.count for c in DeviceCounter.objects.filter(device__in=[a, b])}
    assert counts == {(a.pk, "duplicate"): 2, (b.pk, "zero"): 1, (b.pk, "invalid"): 1,
                      (b.pk, "duplicate"): 1, (b.pk, "max_speed"): 1}
    assert sorted(sum(RejectedPosition.objects.filter(device=b).values_list("reasons", flat=True), [])) == \
        ["invalid", "max_speed", "zero"]


def test_nothing_is_answered_before_it_is_committed(committer):
    d, _ = device("phone-a")
    held = Held(d)
    call = Call(committer, sub(d, fix("phone-a", timezone.now() - dt.timedelta(minutes=5))), check_visible=True)
    call.start()
    until(held.someone_waits, "the committer to wait for the held row")
    # The committer cannot get past the lock, so the request cannot have been answered.
    assert not call.answered.is_set()
    with psycopg.connect(dsn()) as other:
        assert other.execute("SELECT count(*) FROM patrols_position WHERE device_id = %s", [d.pk]).fetchone()[0] == 0
    held.release()
    call.join(60)
    assert call.error is None and call.result.outcomes[0].status == "accepted"
    assert call.visible_at_answer == 1  # committed before the answer came back


def test_a_failing_merged_run_fails_only_the_guilty_request(committer):
    a, _ = device("phone-a")
    b, _ = device("phone-b")
    blocker, _ = device("phone-blocker")
    # A device that is gone from the database: its quarantine row breaks the foreign key, and so
    # the whole merged transaction.
    ghost = Device(pk=a.pk + 10_000, identifier="ghost")
    t = timezone.now() - dt.timedelta(minutes=10)
    calls = merged(committer, blocker, [
        sub(a, fix("phone-a", t)),
        Submission([BadFix("ghost", "lat", "missing")], {"ghost": ghost}, "osmand", timezone.now()),
        sub(b, fix("phone-b", t)),
    ])
    assert committer.stats.split == 1
    assert calls[0].error is None and calls[0].result.outcomes[0].status == "accepted"
    assert calls[2].error is None and calls[2].result.outcomes[0].status == "accepted"
    assert isinstance(calls[1].error, IntegrityError)
    assert Position.objects.filter(device__in=[a, b]).count() == 2
    assert not RejectedPosition.objects.exists()


def test_a_token_revoked_after_authentication_stores_nothing(committer):
    a, token_a = device("phone-a")
    b, token_b = device("phone-b")
    blocker, _ = device("phone-blocker")
    t = timezone.now() - dt.timedelta(minutes=10)
    stale_a = Device.objects.get(pk=a.pk)  # as a request thread authenticated it, from a cache
    auth.set_token(a)
    a.save()  # a new token: the one the request carried is revoked
    calls = merged(committer, blocker, [
        sub(stale_a, fix("phone-a", t), token=token_a),
        sub(b, fix("phone-b", t), token=token_b),
    ])
    assert isinstance(calls[0].error, auth.DeviceAuthError) and calls[0].error.code == "bad_token"
    assert calls[1].error is None and calls[1].result.outcomes[0].status == "accepted"
    assert not Position.objects.filter(device=a).exists()
    assert Position.objects.filter(device=b).count() == 1
    Device.objects.filter(pk=b.pk).update(active=False)  # bulk update: no signal, no cache drop
    call = Call(committer, sub(b, fix("phone-b", t + dt.timedelta(seconds=5)), token=token_b))
    call.start()
    call.join(60)
    assert isinstance(call.error, auth.DeviceAuthError) and call.error.code == "device_disabled"


SERIALIZATION_TRIGGER = """
CREATE SEQUENCE gc_fail_seq;
CREATE FUNCTION gc_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A sequence is not rolled back with the transaction: only the first run fails.
    IF nextval('gc_fail_seq') = 1 THEN
        RAISE EXCEPTION 'simulated serialization failure' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gc_fail BEFORE UPDATE ON patrols_device FOR EACH ROW EXECUTE FUNCTION gc_fail_once();
"""


def test_a_serialization_failure_is_retried_whole(committer):
    d, _ = device("phone-a")
    t = timezone.now() - dt.timedelta(minutes=10)
    with connection.cursor() as cur:
        cur.execute(SERIALIZATION_TRIGGER)
    try:
        result = committer.submit(sub(d, fix("phone-a", t), fix("phone-a", t + dt.timedelta(seconds=5), 6.5)))
        with connection.cursor() as cur:
            cur.execute("SELECT last_value FROM gc_fail_seq")
            runs = cur.fetchone()[0]
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER gc_fail ON patrols_device; DROP FUNCTION gc_fail_once(); "
                        "DROP SEQUENCE gc_fail_seq")
    assert runs == 2  # failed once, then ran again
    assert [o.status for o in result.outcomes] == ["accepted", "accepted"]
    d.refresh_from_db()
    assert Position.objects.filter(device=d).count() == 2 and d.accepted_count == 2
    assert not DeviceCounter.objects.filter(device=d).exists()


def test_the_http_path_groups_only_outside_a_transaction(transactional_db):
    from rest_framework.test import APIClient

    d, token = device("phone-a")
    t = int((timezone.now() - dt.timedelta(minutes=5)).timestamp())
    group_commit.shutdown()  # a committer of its own, counting from zero
    try:
        r = APIClient().get("/api/v1/track/osmand", {"id": "phone-a", "token": token, "lat": TOWN[1],
                                                     "lon": TOWN[0], "timestamp": t})
        assert r.status_code == 200 and r.json()["accepted"] == 1
        assert group_commit.committer().stats.requests == 1  # went through the committer
        r = APIClient().get("/api/v1/track/osmand", {"id": "phone-a", "token": "wrong", "lat": TOWN[1],
                                                     "lon": TOWN[0], "timestamp": t + 5})
        assert r.status_code == 403 and r.json()["error"] == "bad_token"
        assert group_commit.committer().stats.requests == 1  # refused before it was queued
    finally:
        group_commit.shutdown()
    assert Position.objects.filter(device=d).count() == 1


def test_the_device_cache_only_speeds_up_a_yes(transactional_db):
    d, old = device("phone-a")
    cache = auth.DeviceCache()
    assert auth.authenticate(["phone-a"], old, cache=cache)["phone-a"].pk == d.pk
    # A new token issued by another process (a bulk update: no signal reaches this cache).
    new = auth.new_token()
    Device.objects.filter(pk=d.pk).update(token_hash=auth.hash_token(new))
    assert auth.authenticate(["phone-a"], new, cache=cache)["phone-a"].pk == d.pk  # read afresh at once
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate(["phone-a"], old, cache=cache)
    assert e.value.code == "bad_token"
    # What the cache hands out shares nothing with what it keeps, and holds no geometry.
    a = auth.authenticate(["phone-a"], new, cache=cache)["phone-a"]
    b = auth.authenticate(["phone-a"], new, cache=cache)["phone-a"]
    assert a is not b and a._state is not b._state and "last_point" not in a.__dict__
    a.datum = "gcj02"
    assert b.datum == "wgs84"
    # The process's cache forgets a device saved in this process at once.
    auth.devices_cache.put([Device.objects.get(pk=d.pk)])
    assert auth.devices_cache.get_checked({"phone-a": auth.hash_token(new)})
    d.refresh_from_db()
    d.active = False
    d.save()
    assert not auth.devices_cache.get_checked({"phone-a": auth.hash_token(new)})
