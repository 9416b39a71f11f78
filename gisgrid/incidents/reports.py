"""Creating reports with their routing, and re-routing open ones after a boundary change."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal

from gisgrid.accounts import roles
from gisgrid.audit.log import record
from gisgrid.boundaries import locate

from .models import Category, Report, RoutingChange
from .routing import route

# Sent inside the transaction that stores a report, so whatever a receiver writes (the case
# loop opens a case) commits or rolls back with it; incidents never imports its receivers.
# kwargs: report, user, channel (how it came in, e.g. "hotline"; None: from the user's role).
report_created = Signal()

# -- who reads which report (docs/permissions.md) ------------------------------------------------

def can_read_reports(user) -> bool:
    """Whether `user` reads any reports at all (all of them, or their unit's)."""
    return roles.can_read_all_reports(user) or roles.report_units(user) is not None


def readable_reports(user, qs: QuerySet | None = None) -> QuerySet:
    """The part of `qs` (default: every report) that `user` may read."""
    qs = Report.objects.all() if qs is None else qs
    if roles.can_read_all_reports(user):
        return qs
    units = roles.report_units(user)
    if not units:
        return qs.none()
    # A subquery, not a join: a report assisted by two of the user's units must not come twice.
    assisted = Report.assisting_units.through.objects.filter(unit_id__in=units).values("report_id")
    return qs.filter(Q(lead_unit_id__in=units) | Q(pk__in=assisted))


def can_see_reporter(user, report: Report) -> bool:
    """The reporter's name and phone: the centre and the chiefs always, a unit's staff on the
    reports routed to their unit (so they can call the reporter back), nobody else."""
    if roles.has_any_role(user, roles.REPORTER_ROLES):
        return True
    units = roles.report_units(user)
    if not units:
        return False
    return report.lead_unit_id in units or any(u.pk in units for u in report.assisting_units.all())


def _chain_codes(location: dict) -> dict[str, str]:
    by_level = {g["level"]: g["code"] for g in location["grids"]}
    return {f"level{lvl}_code": by_level.get(lvl, "") for lvl in (1, 2, 3)}


def create_report(*, user, category: Category, lon: float, lat: float, crs: str, reporter_name: str,
                  reporter_phone: str = "", description: str = "", address: str = "",
                  channel: str | None = None) -> Report:
    """Route a new report by its location and the matter list, and store the routing on it."""
    snap, answers = locate.locate([lon], [lat], crs)
    loc = answers[0]
    r = route(loc, category)
    with transaction.atomic():
        report = Report.objects.create(
            created_by=user if getattr(user, "is_authenticated", False) else None,
            reporter_name=reporter_name, reporter_phone=reporter_phone, category=category,
            description=description, address=address, raw_lon=lon, raw_lat=lat, raw_crs=crs,
            point=Point(*loc["wgs84"], srid=4326), edition_id=snap.edition_id, location_status=loc["status"],
            lead_unit=r.lead_unit, routing_rule=r.reason, limit_working_days=r.limit_working_days,
            **_chain_codes(loc),
        )
        report.assisting_units.set(r.assisting_units)
        record(user, "report.create", report, category=category.code, status=loc["status"],
               grid=report.grid_code, lead_unit=r.lead_unit.code if r.lead_unit else None)
        report_created.send(sender=Report, report=report, user=user, channel=channel)
    return report


def routing_snapshot(report: Report) -> dict:
    return {"edition": report.edition_id, "status": report.location_status, "level1_code": report.level1_code,
            "level2_code": report.level2_code, "level3_code": report.level3_code,
            "lead_unit": report.lead_unit.code if report.lead_unit_id else None}


def reroute_open_reports(edition_id: int, *, user=None) -> list[RoutingChange]:
    """Locate every open report again in `edition_id`; record and apply each change of routing."""
    reports = list(Report.objects.filter(status=Report.Status.OPEN).select_related("category", "lead_unit"))
    if not reports:
        return []
    _, answers = locate.locate([r.point.x for r in reports], [r.point.y for r in reports], "wgs84",
                               edition_id=edition_id)
    changes = []
    with transaction.atomic():
        for report, loc in zip(reports, answers, strict=True):
            before = routing_snapshot(report)
            decision = route(loc, report.category)
            for k, v in _chain_codes(loc).items():
                setattr(report, k, v)
            report.location_status = loc["status"]
            report.lead_unit = decision.lead_unit
            report.routing_rule = decision.reason
            old_edition = report.edition_id
            report.edition_id = edition_id
            after = routing_snapshot(report)
            moved = {k: v for k, v in after.items() if k != "edition" and before[k] != v}
            if not moved:
                # Same grids and unit: only the edition reference moves forward.
                Report.objects.filter(pk=report.pk).update(edition_id=edition_id)
                continue
            report.save()
            report.assisting_units.set(decision.assisting_units)
            changes.append(RoutingChange.objects.create(
                report=report, by=user if getattr(user, "is_authenticated", False) else None,
                from_edition_id=old_edition, to_edition_id=edition_id, before=before, after=after))
            record(user, "report.reroute", report, before=before, after=after)
    return changes


def on_edition_published(sender, edition, previous, user, reroute, **kwargs) -> None:
    if reroute:
        reroute_open_reports(edition.pk, user=user)


class ReportSource:
    """Reports as routed items, for boundary diffs and blind-spot views."""

    name = "reports"
    item_type = "report"

    @staticmethod
    def visible(user, items: list[dict]) -> list[dict]:
        """The items `user` may read (the same rule as GET /reports)."""
        if not items or not can_read_reports(user):
            return []
        if roles.can_read_all_reports(user):
            return list(items)
        ids = set(readable_reports(user).filter(pk__in=[i["id"] for i in items]).values_list("pk", flat=True))
        return [i for i in items if i["id"] in ids]

    @staticmethod
    def _item(r: Report) -> dict:
        return {"type": "report", "id": r.pk, "category": r.category.name, "status": r.status,
                "grid_code": r.grid_code, "edition": r.edition_id, "created_at": r.created_at.isoformat(),
                "point": [r.point.x, r.point.y]}

    def affected_by(self, old_edition, new_edition, codes: set[str]) -> list[dict]:
        open_ = Report.objects.filter(status=Report.Status.OPEN).select_related("category")
        reports = list(open_)
        if not reports:
            return []
        _, answers = locate.locate([r.point.x for r in reports], [r.point.y for r in reports], "wgs84",
                                   edition_id=new_edition.pk, details=False)
        out = []
        for r, loc in zip(reports, answers, strict=True):
            new_codes = _chain_codes(loc)
            old_codes = {k: getattr(r, k) for k in new_codes}
            if new_codes != old_codes or (set(old_codes.values()) & codes):
                out.append({**self._item(r), "new_grid_code": next(
                    (v for v in (new_codes["level3_code"], new_codes["level2_code"], new_codes["level1_code"]) if v), ""),
                    "moves": new_codes != old_codes})
        return out

    def inside(self, edition, geom) -> list[dict]:
        from django.contrib.gis.geos import GEOSGeometry

        area = GEOSGeometry(geom.wkt, srid=4326)
        qs = Report.objects.filter(point__within=area).select_related("category").order_by("-created_at")[:200]
        return [self._item(r) for r in qs]
