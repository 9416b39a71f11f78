"""The permission matrix of the case loop: every case endpoint and page, and every transition.

`case_probe` is the request each principal makes to exercise one of the case loop's rules (the
probes of tests/test_permission_matrix.py cover the rest of the app and delegate here); the
cells of those rules are run below with the same checks as test_cell there. Then each
transition endpoint is tried by the wrong role (403), by the staff of the wrong unit (403) and
anonymously (401), and each refusal is checked to have changed nothing.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from gisgrid.accounts import policy, roles
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case, unit_staff
from gisgrid.cases.models import Case, CaseEvent
from gisgrid.open311.models import Open311Key
from tests.test_permission_matrix import USERNAMES, Probe, World, _client, _send

API = "/api/v1/"
CASE_RULE_PREFIXES = ("case-", "workorder-", "inbox", "open311-")
CASE_PAGES = ("case-queue", "unit-queue", "phone", "inbox-page", "case-page")
STEPS = ("reported", "accepted", "dispatched", "acknowledged", "on_site", "completed", "verified")


def _user(name: str) -> User:
    return User.objects.get(username=name)


def case_in(w: World, state: str, key: str = "", *, category: str = "E0501", paused: bool = False,
            extension: bool = False) -> Case:
    """A case reported by the demo grid member at the county seat (lead unit 县城市管理执法局, the
    demo unit staff's), taken to `state` through the workflow; cached per key in the World."""
    def make():
        case = reported_case(category, user=_user("gridmember"))
        d, u = _user("dispatcher"), _user("unitstaff")
        calls = {"accepted": lambda c: wf.accept(c, d, version=c.version),
                 "dispatched": lambda c: wf.dispatch(c, d, version=c.version),
                 "acknowledged": lambda c: wf.acknowledge(c, u, version=c.version),
                 "on_site": lambda c: wf.arrive(c, u, version=c.version),
                 "completed": lambda c: wf.complete(c, u, version=c.version, result_text="已处理"),
                 "verified": lambda c: wf.verify(c, d, version=c.version, satisfied=True)}
        for step in STEPS[1:STEPS.index(state) + 1]:
            case = calls[step](case)
        if paused:
            case = wf.pause(case, d, version=case.version, reason="矩阵测试挂账")
        if extension:
            wf.request_extension(case, u, version=case.version, days=2, reason="矩阵测试延期")
            case.refresh_from_db()
        return case
    return w._once(f"case-{key or state}-{paused}-{extension}", make)


def open311_key(w: World) -> str:
    return w._once("open311-key", lambda: Open311Key.issue("matrix-client")[1])


def public_case(w: World) -> Case:
    return w._once("public-case", lambda: reported_case("E0501", channel=Case.Channel.PUBLIC))


def case_probe(rule: policy.Rule, w: World, principal: str) -> Probe | None:
    """The probe of one of the case loop's rules (None for any other rule)."""
    key = (rule.name, rule.method)
    if key == ("case-list", "GET"):
        return Probe("GET", API + "cases?status=open&order=clock")
    if key == ("case-list", "POST"):
        return Probe("POST", API + "cases", {"category": "E0501", "lon": 110.1449, "lat": 35.2385,
                                             "description": "矩阵"}, "json", frozenset({201}))
    if rule.name == "case-hotline":
        return Probe("POST", API + "cases/hotline", {"category": "E0501", "caller_name": "矩阵", "caller_phone":
                                                     "13800000000", "address": "泰山社区"}, "json", frozenset({201}))
    if rule.name == "case-public":
        return Probe("GET", f"{API}cases/public/{case_in(w, 'reported').public_token}")
    if rule.name == "case-public-photo":
        # The case has no photo: past the matrix, the view answers that photo 0 does not exist.
        return Probe("GET", f"{API}cases/public/{case_in(w, 'reported').public_token}/photos/0/public",
                     ok=frozenset({404}), why="照片不存在")
    if rule.name in ("case-detail", "case-photo", "case-duplicates"):
        number = case_in(w, "dispatched").number  # visible to every "own" cell: reported by the
        # grid member, dispatched to the unit staff's unit
        if rule.name == "case-detail":
            return Probe("GET", f"{API}cases/{number}")
        if rule.name == "case-duplicates":
            return Probe("GET", f"{API}cases/{number}/duplicates")
        return Probe("GET", f"{API}cases/{number}/photos/0/thumbnail", ok=frozenset({404}), why="照片不存在")
    if rule.name == "workorder-list":
        return Probe("GET", API + "workorders?open=true")
    if rule.name == "workorder-document":
        order = case_in(w, "dispatched").work_orders.get(role="lead")
        return Probe("GET", f"{API}workorders/{order.pk}/document", ok=frozenset({404}), why="没有签章回复")
    if rule.name == "inbox":
        return Probe("GET", API + "inbox")
    if rule.name == "inbox-read":
        return Probe("POST", API + "inbox/read", {}, "json")
    transitions = {
        "case-accept": ("reported", {}), "case-dispatch": ("accepted", {}), "case-acknowledge": ("dispatched", {}),
        "case-arrive": ("acknowledged", {}), "case-complete": ("on_site", {"result_text": "已处理"}),
        "case-verify": ("completed", {"satisfied": True}), "case-archive": ("verified", {}),
        "case-send-back": ("completed", {"reason": "返工"}), "case-return": ("dispatched", {"reason": "非本单位"}),
        "case-extension": ("dispatched", {"days": 2, "reason": "协调"}),
        "case-supervise": ("reported", {"reason": "督办"}), "case-void": ("reported", {"reason": "无效"}),
        "case-pause": ("reported", {"reason": "挂账"}),
    }
    if rule.name in transitions:
        state, body = transitions[rule.name]
        case = case_in(w, state)
        action = rule.route.rsplit("/", 1)[1]
        return Probe("POST", f"{API}cases/{case.number}/{action}", {"version": case.version, **body}, "json")
    if rule.name == "case-resume":
        case = case_in(w, "accepted", paused=True)
        return Probe("POST", f"{API}cases/{case.number}/resume", {"version": case.version}, "json")
    if rule.name == "case-merge":
        dup, into = case_in(w, "reported", "dup"), case_in(w, "reported", "into")
        return Probe("POST", f"{API}cases/{dup.number}/merge", {"version": dup.version, "into": into.number}, "json")
    if rule.name == "case-extension-decide":
        case = case_in(w, "dispatched", extension=True)
        ext = case.extensions.get()
        return Probe("POST", f"{API}cases/{case.number}/extensions/{ext.pk}/decide",
                     {"version": case.version, "approve": True}, "json")
    if rule.name in CASE_PAGES:
        if rule.name == "case-page":
            return Probe("GET", f"/cases/{case_in(w, 'dispatched').number}/")
        return Probe("GET", {"case-queue": "/cases/", "unit-queue": "/cases/unit/", "phone": "/cases/phone/",
                             "inbox-page": "/cases/inbox/"}[rule.name])
    if rule.name == "open311-services":
        return Probe("GET", "/open311/v2/services.json")
    if rule.name == "open311-service":
        return Probe("GET", "/open311/v2/services/E0501.xml")
    if key == ("open311-requests", "GET"):
        return Probe("GET", "/open311/v2/requests.json")
    if key == ("open311-requests", "POST"):
        return Probe("POST", "/open311/v2/requests.json", {"api_key": open311_key(w), "service_code": "E0501",
                                                            "lat": "35.2385", "long": "110.1449"},
                     ok=frozenset({201}))
    if rule.name == "open311-request":
        return Probe("GET", f"/open311/v2/requests/{public_case(w).number}.json")
    if rule.name == "open311-media":
        return Probe("GET", "/open311/v2/media/0", ok=frozenset({404}), why="照片不存在")
    if rule.name == "open311-token":
        return Probe("GET", f"/open311/v2/tokens/{public_case(w).public_token}.xml")
    return None


# The figures and the map's points (issue 12) are named case-… but probed by test_case_stats.
NOT_CASE_LOOP = ("case-stats", "case-points")
CASE_RULES = [r for r in policy.RULES
              if (r.name.startswith(CASE_RULE_PREFIXES) or r.name in CASE_PAGES) and r.name not in NOT_CASE_LOOP]
CELLS = [pytest.param(r, p, id=f"{r.name}-{r.method}-{p}")
         for r in CASE_RULES for p in policy.PRINCIPALS if r.cells[p] != policy.NA]


@pytest.mark.parametrize(("rule", "principal"), CELLS)
def test_case_cell(rule: policy.Rule, principal: str, heyang_db):
    """As test_permission_matrix.test_cell, for the case loop's rules."""
    w = World()
    probe = case_probe(rule, w, principal)
    assert probe is not None, rule.name
    is_api = rule.route.startswith("/api/")
    r = _send(_client(principal, is_api), probe)
    body = r.content.decode("utf-8", "replace")[:600]
    if rule.cells[principal] in policy.ALLOWED:
        assert r.status_code in probe.ok, (probe.url, r.status_code, body)
        if probe.why and r.status_code >= 400:
            assert probe.why in body, body
        return
    if not is_api:
        if principal == policy.ANONYMOUS:
            assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), (r.status_code, body)
        else:
            assert r.status_code == 403, (r.status_code, body)
    elif principal == policy.ANONYMOUS:
        assert r.status_code == 401, (probe.url, r.status_code, body)
    else:
        assert r.status_code == 403, (probe.url, r.status_code, body)


# -- every transition: wrong role, wrong unit, anonymous -------------------------------------------------

TRANSITION_RULES = [r for r in policy.RULES if r.method == "POST" and r.name.startswith("case-")
                    and r.name not in ("case-list", "case-hotline")]
CENTRE_SIDE = [r for r in TRANSITION_RULES if r.cells[roles.DISPATCHER] == policy.YES]
UNIT_SIDE = [r for r in TRANSITION_RULES if r.cells[roles.UNIT_STAFF] == policy.OWN]


def test_the_transitions_split_between_centre_and_units():
    assert {r.name for r in UNIT_SIDE} == {"case-acknowledge", "case-arrive", "case-complete", "case-return",
                                           "case-extension"}
    assert len(CENTRE_SIDE) == 11 and not {r.name for r in CENTRE_SIDE} & {r.name for r in UNIT_SIDE}
    assert len(TRANSITION_RULES) == 16


def _unchanged(case: Case) -> None:
    before = (case.state, case.version, CaseEvent.objects.filter(case=case).count())
    case.refresh_from_db()
    assert (case.state, case.version, CaseEvent.objects.filter(case=case).count()) == before


def _api(user: User | None):
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("rule", TRANSITION_RULES, ids=[r.name for r in TRANSITION_RULES])
def test_transition_refused_to_anonymous_and_wrong_roles(rule: policy.Rule, heyang_db):
    w = World()
    probe = case_probe(rule, w, roles.ADMIN)
    number = probe.url.split("/cases/")[1].split("/")[0]
    case = Case.objects.get(number=number)
    # The other side of the loop and every role with no part in it.
    wrong = [p for p in (roles.DISPATCHER, roles.UNIT_STAFF, roles.GRID_MEMBER, roles.INSPECTOR, roles.GRID_CHIEF,
                         roles.PLANNER) if rule.cells[p] == policy.NO]
    assert wrong and roles.PLANNER in wrong
    for principal in wrong:
        r = _api(_user(USERNAMES[principal])).post(probe.url, probe.data, format="json")
        assert r.status_code == 403, (rule.name, principal, r.status_code, r.content[:300])
        assert r.json()["error"] == "permission_denied"
    r = _api(None).post(probe.url, probe.data, format="json")
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    _unchanged(case)


@pytest.mark.parametrize("rule", UNIT_SIDE, ids=[r.name for r in UNIT_SIDE])
def test_unit_transition_refused_to_the_staff_of_another_unit(rule: policy.Rule, heyang_db):
    w = World()
    probe = case_probe(rule, w, roles.UNIT_STAFF)
    case = Case.objects.get(number=probe.url.split("/cases/")[1].split("/")[0])
    other = unit_staff("D-ZJJ")  # 县住房和城乡建设局: no work order on this case
    r = _api(other).post(probe.url, probe.data, format="json")
    assert r.status_code == 403, (rule.name, r.status_code, r.content[:300])
    assert r.json()["error"] == "permission_denied"
    # Naming the right unit does not help someone who is not its staff.
    r = _api(other).post(probe.url, {**probe.data, "unit": "D-CGJ"}, format="json")
    assert r.status_code == 403 and "unit" in r.json().get("fields", {})
    _unchanged(case)
    # ... and the unit's own staff may (the probe itself).
    r = _api(_user("unitstaff")).post(probe.url, probe.data, format="json")
    assert r.status_code == 200, r.content[:300]


def test_admin_is_no_unit(heyang_db):
    """The centre's accounts pass the matrix nowhere on the unit side: a unit's steps are its own."""
    for rule in UNIT_SIDE:
        assert rule.cells[roles.ADMIN] == policy.NO, rule.name
