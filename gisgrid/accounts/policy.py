"""The permission matrix: who may call which endpoint or page, and who sees which personal data.

One table, as data. docs/permissions.md is generated from it (`python -m gisgrid.accounts.policy
> docs/permissions.md`; a test fails when the two differ), tests/test_permission_matrix.py walks
the URL configuration and checks every cell against the running app, and views that use
`FromMatrix` are refused by it. Cells:

* ``yes``: allowed, the whole answer;
* ``own``: allowed, the answer limited to the caller's own share (a unit's staff: the reports
  routed to their unit; a grid member: their own patrols; the public: published editions);
* ``no``: refused: 401 to anonymous callers of the API (a login redirect on pages), 403 to
  signed-in ones;
* ``—``: not this caller's kind of endpoint (device tokens authenticate the track endpoints only;
  anywhere else a phone is an anonymous caller).

A signed-in account has the union of its roles' cells; an account with no role has the
anonymous column's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rest_framework.permissions import BasePermission, IsAuthenticatedOrReadOnly

from . import roles

ANONYMOUS = "anonymous"
DEVICE = "device"
PRINCIPALS = (ANONYMOUS, roles.ADMIN, roles.DISPATCHER, roles.UNIT_STAFF, roles.GRID_MEMBER, roles.INSPECTOR,
              roles.GRID_CHIEF, roles.PLANNER, DEVICE)
PEOPLE = PRINCIPALS[:-1]

YES, OWN, NO, NA = "yes", "own", "no", "—"
ALLOWED = frozenset({YES, OWN})

SIGNED_IN = frozenset(roles.ALL_ROLES)
EVERYONE = frozenset({ANONYMOUS, *roles.ALL_ROLES})


def cells(yes: Iterable[str] = (), own: Iterable[str] = (), device: str = NA) -> dict[str, str]:
    yes, own = frozenset(yes), frozenset(own)
    out = {p: YES if p in yes else OWN if p in own else NO for p in PEOPLE}
    out[DEVICE] = device
    return out


PUBLIC = cells(yes=EVERYONE)
PUBLIC_PUBLISHED = cells(yes=SIGNED_IN, own={ANONYMOUS})  # drafts are visible to signed-in users only
STAFF = cells(yes=SIGNED_IN)
PLANNING = cells(yes=roles.EDIT_BOUNDARY_ROLES)
REPORT_READ = cells(yes=roles.REPORT_READ_ROLES, own=roles.REPORT_UNIT_ROLES)
REPORT_FILE = cells(yes=roles.REPORT_ROLES)
PATROL_READ = cells(yes=roles.PATROL_SUPERVISOR_ROLES, own=roles.PATROL_SELF_ROLES)
PATROL_SUPERVISE = cells(yes=roles.PATROL_SUPERVISOR_ROLES)
DEVICE_ONLY = cells(device=YES)
# The case loop (gisgrid/cases). The centre runs it; a unit's staff act on their own work orders;
# chiefs and inspectors read every case, grid members those in their grids and their own.
CENTRE = frozenset({roles.ADMIN, roles.DISPATCHER})
CASE_ALL_READERS = frozenset({roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF, roles.INSPECTOR})
CASE_READ = cells(yes=CASE_ALL_READERS, own={roles.UNIT_STAFF, roles.GRID_MEMBER})
CASE_FILE = cells(yes={roles.ADMIN, roles.GRID_MEMBER, roles.INSPECTOR, roles.GRID_CHIEF})
CASE_CENTRE = cells(yes=CENTRE)
CASE_UNIT = cells(own={roles.UNIT_STAFF})
WORK_ORDERS = cells(yes={roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF}, own={roles.UNIT_STAFF})
INBOX = cells(own=SIGNED_IN)
CASE_QUEUE = cells(yes={roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF})
PHONE = cells(yes={roles.ADMIN, roles.GRID_MEMBER, roles.INSPECTOR, roles.GRID_CHIEF})
# Assessment (gisgrid/assessment): the centre and the leaders (chiefs) read every score; a grid
# member or inspector their own; the centre recomputes, issues bulletins, makes reports.
ASSESS_READ = cells(yes={roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF}, own={roles.GRID_MEMBER, roles.INSPECTOR})
ASSESS_LEADERS = cells(yes={roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF})
ASSESS_CENTRE = cells(yes=CENTRE)
ASSESS_ADMIN = cells(yes={roles.ADMIN})


@dataclass(frozen=True)
class Rule:
    name: str  # the URL name
    route: str  # as shown in the docs
    method: str
    cells: Mapping[str, str]
    access: str = ""  # read or write; default from the method
    note: str = ""

    def __post_init__(self):
        if not self.access:
            object.__setattr__(self, "access", "read" if self.method == "GET" else "write")
        assert set(self.cells) == set(PRINCIPALS), self.name


def _rules(name: str, route: str, **by_method) -> list[Rule]:
    out = []
    for method, spec in by_method.items():
        if isinstance(spec, tuple):
            spec, kw = spec[0], spec[1]
        else:
            kw = {}
        out.append(Rule(name, route, method, spec, **kw))
    return out


API = "/api/v1/"
RULES: tuple[Rule, ...] = tuple(
    # grids, places, locate, routing: the public map's data
    _rules("grid-list", API + "grids", GET=PUBLIC)
    + _rules("grid-detail", API + "grids/{code}", GET=(PUBLIC, {"note": "staff phones: see personal data"}))
    + _rules("county", API + "county", GET=PUBLIC)
    + _rules("locate", API + "locate", GET=PUBLIC,
             POST=(STAFF, {"access": "read", "note": "batch of up to 100,000 points"}))
    + _rules("geocode", API + "geocode", GET=PUBLIC)
    + _rules("category-list", API + "categories", GET=PUBLIC)
    + _rules("route", API + "route", GET=PUBLIC)
    + _rules("blind-spots", API + "blind-spots",
             GET=(PUBLIC, {"note": "areas public; the reports inside only to who may read them"}))
    # editions: planning
    + _rules("edition-list", API + "editions", GET=PUBLIC_PUBLISHED, POST=PLANNING)
    + _rules("edition-detail", API + "editions/{id}", GET=PUBLIC_PUBLISHED)
    + _rules("edition-validation", API + "editions/{id}/validation", GET=STAFF)
    + _rules("edition-diff", API + "editions/{id}/diff",
             GET=(STAFF, {"note": "affected reports only to who may read them"}))
    + _rules("edition-diff-geojson", API + "editions/{id}/diff.geojson", GET=STAFF)
    + _rules("edition-changes", API + "editions/{id}/changes", GET=STAFF)
    + _rules("edition-import", API + "editions/{id}/import", POST=PLANNING)
    + _rules("edition-publish", API + "editions/{id}/publish", POST=PLANNING)
    + _rules("edition-edit", API + "editions/{id}/{op}", POST=PLANNING)
    # reports
    + _rules("report-list", API + "reports", GET=REPORT_READ, POST=REPORT_FILE)
    + _rules("report-detail", API + "reports/{id}", GET=REPORT_READ)
    # cases: the loop (reported -> accepted -> dispatched -> ... -> archived)
    + _rules("case-list", API + "cases", GET=(CASE_READ, {"note": "filters, pages; own: see the decisions"}),
             POST=(CASE_FILE, {"note": "a report from the field, multipart with up to 9 photos"}))
    + _rules("case-hotline", API + "cases/hotline", POST=(CASE_CENTRE, {"note": "the hotline desk's intake"}))
    + _rules("case-stats", API + "cases/stats", GET=(CASE_READ, {"note": "figures over the cases the caller reads"}))
    + _rules("case-points", API + "cases/points", GET=(CASE_READ, {"note": "the map's compact rows; own: as the list"}))
    + _rules("case-public", API + "cases/public/{token}",
             GET=(PUBLIC, {"note": "the public's own case by its token: no staff names, no phones"}))
    + _rules("case-public-photo", API + "cases/public/{token}/photos/{id}/{variant}",
             GET=(PUBLIC, {"note": "thumbnail and EXIF-free copy only"}))
    + _rules("case-detail", API + "cases/{number}", GET=CASE_READ)
    + _rules("case-accept", API + "cases/{number}/accept", POST=CASE_CENTRE)
    + _rules("case-dispatch", API + "cases/{number}/dispatch", POST=CASE_CENTRE)
    + _rules("case-acknowledge", API + "cases/{number}/acknowledge",
             POST=(CASE_UNIT, {"note": "own: a work order of the caller's unit"}))
    + _rules("case-arrive", API + "cases/{number}/arrive", POST=(CASE_UNIT, {"note": "own: the caller's unit"}))
    + _rules("case-complete", API + "cases/{number}/complete",
             POST=(CASE_UNIT, {"note": "own: the caller's unit; result, signed document, photos"}))
    + _rules("case-verify", API + "cases/{number}/verify", POST=(CASE_CENTRE, {"note": "revisit; photos"}))
    + _rules("case-archive", API + "cases/{number}/archive", POST=CASE_CENTRE)
    + _rules("case-send-back", API + "cases/{number}/send-back", POST=(CASE_CENTRE, {"note": "rework"}))
    + _rules("case-return", API + "cases/{number}/return",
             POST=(CASE_UNIT, {"note": "own: the caller's unit returns it to the centre"}))
    + _rules("case-extension", API + "cases/{number}/extension",
             POST=(CASE_UNIT, {"note": "own: the lead unit asks for more working days"}))
    + _rules("case-extension-decide", API + "cases/{number}/extensions/{id}/decide", POST=CASE_CENTRE)
    + _rules("case-supervise", API + "cases/{number}/supervise", POST=CASE_CENTRE)
    + _rules("case-void", API + "cases/{number}/void", POST=CASE_CENTRE)
    + _rules("case-pause", API + "cases/{number}/pause", POST=CASE_CENTRE)
    + _rules("case-resume", API + "cases/{number}/resume", POST=CASE_CENTRE)
    + _rules("case-merge", API + "cases/{number}/merge", POST=CASE_CENTRE)
    + _rules("case-duplicates", API + "cases/{number}/duplicates", GET=CASE_CENTRE)
    + _rules("case-photo", API + "cases/{number}/photos/{id}/{variant}",
             GET=(CASE_READ, {"note": "original (with EXIF) to signed-in staff only"}))
    + _rules("workorder-list", API + "workorders", GET=(WORK_ORDERS, {"note": "own: the caller's unit"}))
    + _rules("workorder-document", API + "workorders/{id}/document", GET=CASE_READ)
    + _rules("inbox", API + "inbox", GET=(INBOX, {"note": "own: notices to the caller, their unit or role"}))
    + _rules("inbox-read", API + "inbox/read", POST=INBOX)
    # Open311 GeoReport v2 (docs/open311.md): public by the standard; POST needs an api_key
    + _rules("open311-services", "/open311/v2/services.{format}", GET=PUBLIC)
    + _rules("open311-service", "/open311/v2/services/{code}.{format}", GET=PUBLIC)
    + _rules("open311-requests", "/open311/v2/requests.{format}",
             GET=(PUBLIC, {"note": "requests filed through Open311 only; no names or phones"}),
             POST=(PUBLIC, {"note": "with an api_key (`open311_key`)"}))
    + _rules("open311-request", "/open311/v2/requests/{id}.{format}", GET=PUBLIC)
    + _rules("open311-token", "/open311/v2/tokens/{token}.{format}", GET=PUBLIC)
    + _rules("open311-media", "/open311/v2/media/{id}",
             GET=(PUBLIC, {"note": "a request's photo without EXIF (its media_url)"}))
    # patrols: phones in (device tokens), tracks and coverage out
    + _rules("track-osmand", API + "track/osmand", GET=DEVICE_ONLY, POST=DEVICE_ONLY)
    + _rules("track-positions", API + "track/positions", POST=DEVICE_ONLY)
    + _rules("track-gpx", API + "track/gpx", POST=(PATROL_READ, {"note": "own: one's own tracks only"}))
    + _rules("track-devices", API + "track/devices", GET=PATROL_SUPERVISE)
    + _rules("track-rejected", API + "track/rejected", GET=PATROL_SUPERVISE)
    + _rules("patrol-coverage", API + "patrols/coverage", GET=PATROL_READ)
    + _rules("patrol-schedule", API + "patrols/schedule", GET=PATROL_READ)
    + _rules("patrols-live", API + "patrols/live", GET=PATROL_READ)
    + _rules("patrols-track", API + "patrols/track", GET=PATROL_READ)
    + _rules("patrols-sessions", API + "patrols/sessions", GET=PATROL_READ)
    # push (docs/push.md): each caller gets only the events they may see
    + _rules("events", API + "events",
             GET=(INBOX, {"note": "Server-Sent Events from the push service; own: what the caller may see"}))
    + _rules("events-changes", API + "events/changes", GET=(INBOX, {"note": "the same events by polling"}))
    # assessment: scores with evidence, quotas, rules, bulletins, reports (docs/assessment.md)
    + _rules("assessment-scores", API + "assessment/scores", GET=(ASSESS_READ, {"note": "own: one's own score"}))
    + _rules("assessment-entries", API + "assessment/entries", GET=(ASSESS_READ, {"note": "own: one's own entries"}))
    + _rules("assessment-quota", API + "assessment/quota", GET=(ASSESS_READ, {"note": "own: one's own week"}))
    + _rules("assessment-rules", API + "assessment/rules", GET=ASSESS_LEADERS)
    + _rules("assessment-rule", API + "assessment/rules/{code}", POST=(ASSESS_ADMIN, {"note": "weights, thresholds"}))
    + _rules("assessment-recompute", API + "assessment/recompute", POST=ASSESS_CENTRE)
    + _rules("assessment-bulletins", API + "assessment/bulletins", GET=ASSESS_LEADERS,
             POST=(ASSESS_CENTRE, {"note": "issue: a frozen snapshot"}))
    + _rules("assessment-bulletin", API + "assessment/bulletins/{id}", GET=ASSESS_LEADERS)
    + _rules("assessment-bulletin-download", API + "assessment/bulletins/{id}/download", GET=ASSESS_LEADERS)
    + _rules("assessment-reports", API + "assessment/reports", GET=ASSESS_LEADERS, POST=ASSESS_CENTRE)
    + _rules("assessment-report", API + "assessment/reports/{id}", GET=ASSESS_LEADERS)
    + _rules("assessment-report-download", API + "assessment/reports/{id}/download", GET=ASSESS_LEADERS)
    # the API's description, health
    + _rules("schema", "/api/schema/", GET=PUBLIC)
    + _rules("api-docs", "/api/docs/", GET=PUBLIC)
    + _rules("healthz", "/healthz", GET=(PUBLIC, {"note": "details (versions, dataset) for admins only"}))
    # pages
    + _rules("map", "/map/", GET=PUBLIC)
    + _rules("planner", "/planner/", GET=PLANNING)
    + _rules("patrols", "/patrols/", GET=(PATROL_READ, {"note": "own: a grid member's own patrols"}))
    + _rules("index", "/", GET=(PUBLIC, {"note": "redirects to /map/"}))
    + _rules("case-queue", "/cases/", GET=(CASE_QUEUE, {"note": "the centre's queue, by clock"}))
    + _rules("unit-queue", "/cases/unit/", GET=(WORK_ORDERS, {"note": "own: the unit's work orders"}))
    + _rules("phone", "/cases/phone/", GET=(PHONE, {"note": "report with position and photo; my tasks"}))
    + _rules("inbox-page", "/cases/inbox/", GET=INBOX)
    + _rules("case-page", "/cases/{number}/", GET=CASE_READ)
    + _rules("dispatch", "/dispatch/", GET=(CASE_QUEUE, {"note": "the dispatcher's workbench; chiefs read only"}))
    + _rules("dashboard", "/dashboard/", GET=(CASE_QUEUE, {"note": "the leaders' dashboard"}))
    + _rules("assessment", "/assessment/", GET=(ASSESS_READ, {"note": "rankings, evidence; own: one's score"}))
    + _rules("assessment-bulletin-page", "/assessment/bulletins/{id}/", GET=ASSESS_LEADERS)
    + _rules("assessment-reports-page", "/assessment/reports/", GET=ASSESS_LEADERS)
    + _rules("login", "/accounts/login/", GET=PUBLIC, POST=PUBLIC)
    + _rules("logout", "/accounts/logout/", POST=PUBLIC)
    + _rules("set_language", "/i18n/setlang/", POST=PUBLIC)
)

BY_KEY: dict[tuple[str, str], Rule] = {(r.name, r.method): r for r in RULES}
assert len(BY_KEY) == len(RULES), "a (URL name, method) declared twice"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    where: str
    cells: Mapping[str, str] = field(default_factory=dict)


FIELDS: tuple[Field, ...] = (
    Field("staff_name", "网格人员姓名 names of grid staff (public duty)",
          "grids/{code}, locate, route", cells(yes=EVERYONE)),
    Field("staff_phone", "网格人员和责任单位电话 phones of grid staff and units",
          "grids/{code}, locate, route", cells(yes=roles.PERSONAL_DATA_ROLES)),
    Field("reporter", "上报人姓名和电话 reporter's name and phone",
          "reports, reports/{id}, cases, cases/{number}", cells(yes=roles.REPORTER_ROLES, own=roles.REPORT_UNIT_ROLES)),
    Field("report", "事件及其精确位置 reports and their exact points",
          "reports, reports/{id}, blind-spots (items), editions/{id}/diff (items_affected)", REPORT_READ),
    Field("patrol_positions", "巡查位置和轨迹 patrol positions and tracks",
          "patrols/*, track/devices, track/rejected", PATROL_READ),
    Field("health_details", "数据库版本与数据集 database versions, dataset", "/healthz",
          cells(yes=roles.HEALTH_DETAIL_ROLES)),
)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}


def principals_of(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return {ANONYMOUS}
    return set(roles.user_roles(user) & SIGNED_IN) or {ANONYMOUS}


def cell_for(user, name: str, method: str) -> str:
    """The best cell among the user's roles for (URL name, method); HEAD/OPTIONS read as GET."""
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    rule = BY_KEY.get((name, method))
    if rule is None:
        return NO
    found = {rule.cells[p] for p in principals_of(user)}
    return YES if YES in found else OWN if OWN in found else NO


def allows(user, name: str, method: str = "GET") -> bool:
    return cell_for(user, name, method) in ALLOWED


def sees(user, field_key: str) -> str:
    """The cell of personal-data field `field_key` for `user` (yes, own or no)."""
    f = FIELDS_BY_KEY[field_key]
    found = {f.cells[p] for p in principals_of(user)}
    return YES if YES in found else OWN if OWN in found else NO


class FromMatrix(BasePermission):
    """Refuses what the matrix refuses, by the view's URL name. A view reached under a name the
    matrix does not know is refused too: an endpoint is closed until someone declares it."""

    message = "您的角色无权访问 (your role may not do this)"

    def has_permission(self, request, view) -> bool:
        if _no_handler(request, view):
            return True  # the view answers 405 naming the methods it has
        match = getattr(request, "resolver_match", None)
        return match is not None and allows(request.user, match.url_name, request.method)


def _no_handler(request, view) -> bool:
    """A method the view does not implement: DRF checks permissions first, so without this a
    caller would be told to sign in (401) for a method that exists for nobody (405)."""
    method = (request.method or "").lower()
    return method not in getattr(view, "http_method_names", ()) or not hasattr(view, method)


class ReadOnlyUnlessSignedIn(IsAuthenticatedOrReadOnly):
    """The API's default for views without a matrix rule of their own: reads for all, writes
    signed in; a method the view does not have is its 405, not a 401."""

    def has_permission(self, request, view) -> bool:
        return _no_handler(request, view) or super().has_permission(request, view)


# -- docs/permissions.md ----------------------------------------------------------------------

HEADER = """# 权限矩阵 Permission matrix

Generated from `gisgrid/accounts/policy.py` by `python -m gisgrid.accounts.policy > docs/permissions.md`;
`tests/test_permission_matrix.py` fails when this file and the table differ, when an endpoint has
no rule, and when the running app answers any cell otherwise.

Cells: **yes** allowed; **own** allowed, limited to the caller's own share (unit staff: reports
routed to their unit as lead or assisting unit; a grid member: their own patrols; the public:
published editions, never drafts); **no** refused (API: 401 anonymous, 403 signed in; pages: a
redirect to the login page anonymous, 403 signed in); **—** not a device-token endpoint (a phone
is an anonymous caller there). An account holding several roles has the best cell of each; an
account with no role is treated as anonymous.

Roles: admin 系统管理员, dispatcher 指挥中心调度员, unit_staff 责任单位人员 (linked to its unit
in the admin, *单位人员*), grid_member 网格员, inspector 专职巡查员, grid_chief 网格长, planner
网格规划员; device = a phone or tracker with its device token (`register_device`).
"""

DECISIONS = """
## Decisions

- **Blind spots** stay public: the public map draws them. Each area lists under `items` only the
  reports the caller may read (none for the public and planners, their unit's for unit staff),
  so the count in a popup is the count the caller may see.
- **Planners** handle no reports: they read none (`/reports` 403), and a diff or blind spot
  shows them the land and the staff, not the reports.
- **Unit staff** read the reports routed to their unit (lead or assisting), with the reporter's
  name and phone so they can call back; any other report answers 404 (its existence is not theirs
  to learn either).
- **Validation and diffs** of editions need a signed-in account: they list the reports a redraw
  moves, and one validation costs about a second of CPU, not something to offer anonymously.
- **/healthz** answers everyone `status` (`ok`, `degraded` when no dataset is loaded, `error`)
  and `database.ok`; versions of PostgreSQL and PostGIS, the dataset and the database's error
  text only to admins (a monitoring token of an admin account works: `Authorization: Token`).
- **Cases** (the loop, `cases/*`): the centre (dispatchers, admins) reads every case and takes
  the centre's steps; grid chiefs and inspectors read every case; a unit's staff read the cases
  with a work order of their unit and take the unit's steps on them (a step on a case not
  dispatched to their unit is a 403, reading it a 404); grid members read the cases in their own
  grids and those they reported, and file reports with photos. No admin shortcut on the unit
  side: acknowledging, arriving, completing, returning and asking for an extension are the
  unit's own acts. The reporter's name and phone follow the reports' rule.
- **Photos**: the original file (with its EXIF: position, phone, time) only to signed-in staff
  who read the case; everyone else, the public included, gets the copy without EXIF and the
  thumbnail. A photo whose EXIF position lies more than 200 m from the reported point is flagged.
- **The public** reads its own case by the token it got when filing (`cases/public/{token}`,
  Open311 `tokens/{token}`): state, timeline, photos, units — no staff names, no phones, no
  internal reasons. Open311 reads (`requests`) list only the requests filed through Open311,
  never cases of grid members, inspectors or hotline callers, and no names or phones at all.
- **Inbox**: everyone signed in reads the notices addressed to them, their unit or their role.
- **Assessment** (`assessment/*`, `/assessment/`): the centre and the grid chiefs read every
  score, entry, bulletin and report; a grid member or inspector reads their own score, its
  evidence and their quota week only (others' rows are simply absent). The centre recomputes,
  issues bulletins and makes reports; only admins change rule weights. No phone numbers.
- **Device tokens** authenticate only `track/osmand` and `track/positions`. Whether the device
  id is unknown or the token wrong, the caller gets the same 403 (the reason is in the server's
  log), and the access log holds the path with `token=` redacted.
"""


def markdown() -> str:
    heads = ["endpoint", "method", "access", *PRINCIPALS, "note"]
    lines = [HEADER, "## Endpoints and pages", "", "| " + " | ".join(heads) + " |",
             "|" + "---|" * len(heads)]
    for r in RULES:
        lines.append("| " + " | ".join([f"`{r.route}`", r.method, r.access, *(r.cells[p] for p in PRINCIPALS),
                                         r.note]) + " |")
    heads = ["personal data", "where", *PEOPLE]
    lines += ["", "## Personal data", "", "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for f in FIELDS:
        lines.append("| " + " | ".join([f.label, f.where, *(f.cells[p] for p in PEOPLE)]) + " |")
    lines.append(DECISIONS)
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
