"""The case loop: a routed report taken from reported to archived, with its clocks and notices.

A `Case` wraps one `incidents.Report` (which keeps the routing as decided) and carries the state
of the county's eight steps. Units work on `WorkOrder`s, one per unit and round; a send-back
starts a new round with new work orders and leaves the old ones as history. `CaseEvent` is the
case's append-only timeline. Clock colours are columns updated in bulk by `clocks.clock_pass`,
so queues can filter and sort by them without computing anything per row.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gisgrid.boundaries.models import Unit
from gisgrid.incidents.models import Category, Report


def new_public_token() -> str:
    return secrets.token_urlsafe(18)


class Case(models.Model):
    class Channel(models.TextChoices):
        GRID_MEMBER = "grid_member", _("网格员上报")
        INSPECTOR = "inspector", _("巡查员上报")
        HOTLINE = "hotline", _("热线受理")
        PUBLIC = "public", _("群众上报")
        IMPORT = "import", _("历史导入")

    class State(models.TextChoices):
        REPORTED = "reported", _("待受理")
        ACCEPTED = "accepted", _("已立案")
        DISPATCHED = "dispatched", _("已派遣")
        ACKNOWLEDGED = "acknowledged", _("已签收")
        ON_SITE = "on_site", _("已到场")
        COMPLETED = "completed", _("已处置")
        VERIFIED = "verified", _("已核查")
        ARCHIVED = "archived", _("已归档")
        VOIDED = "voided", _("已作废")

    class Stage(models.TextChoices):
        DISPATCH = "dispatch", _("派遣时限")
        ACKNOWLEDGE = "acknowledge", _("签收时限")
        ON_SITE = "on_site", _("到场时限")
        COMPLETE = "complete", _("办结时限")
        NONE = "none", _("无")

    class Clock(models.TextChoices):
        GREEN = "green", _("正常")
        YELLOW = "yellow", _("预警")
        RED = "red", _("超时")
        PAUSED = "paused", _("挂账")
        NONE = "none", _("无")

    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    report = models.OneToOneField(Report, on_delete=models.PROTECT, related_name="case", verbose_name=_("事件"))
    # Copied from the report so queues filter without a join; the report keeps the original.
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("事项"))
    channel = models.CharField(_("来源"), max_length=20, choices=Channel.choices)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.REPORTED)
    version = models.PositiveIntegerField(_("版本"), default=1)
    severity = models.CharField(_("事项等级"), max_length=20, choices=Category.Severity.choices)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=1)
    # Who handles it now (set at acceptance from the report's routing, the dispatcher may change it).
    lead_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="led_cases",
                                  verbose_name=_("主办单位"))
    assisting_units = models.ManyToManyField(Unit, blank=True, related_name="assisted_cases",
                                             verbose_name=_("协办单位"))
    supervised = models.BooleanField(_("督办"), default=False)
    supervised_reason = models.CharField(_("督办原因"), max_length=500, blank=True)
    paused = models.BooleanField(_("挂账"), default=False)
    paused_since = models.DateTimeField(_("挂账开始"), null=True, blank=True)
    paused_seconds = models.FloatField(_("累计挂账秒数"), default=0)
    pause_reason = models.CharField(_("挂账原因"), max_length=500, blank=True)
    outside = models.BooleanField(_("县外位置"), default=False)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="duplicates", verbose_name=_("重复于"))
    reporter_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="reported_cases", verbose_name=_("上报账号"))
    public_token = models.CharField(max_length=40, unique=True, default=new_public_token, editable=False)

    reported_at = models.DateTimeField(_("上报时间"), db_index=True)
    accepted_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    void_reason = models.CharField(_("作废原因"), max_length=500, blank=True)
    result_text = models.TextField(_("处置结果"), blank=True)
    satisfied = models.BooleanField(_("核查满意"), null=True, blank=True)

    dispatch_due = models.DateTimeField(_("派遣时限"), null=True, blank=True)
    complete_due = models.DateTimeField(_("办结时限"), null=True, blank=True)
    stage = models.CharField(_("计时环节"), max_length=20, choices=Stage.choices, default=Stage.DISPATCH)
    stage_started = models.DateTimeField(_("环节开始"), null=True, blank=True)
    stage_due = models.DateTimeField(_("环节时限"), null=True, blank=True)
    # When the running stage reaches 80 % of its limit (wall clock for minute limits, working
    # time for working-day limits), computed at each transition so the pass only compares.
    stage_warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    clock = models.CharField(_("时限状态"), max_length=10, choices=Clock.choices, default=Clock.GREEN)
    # The highest alert raised for the running stage ("", "yellow", "red"): the clock pass
    # raises only above it, so a pass with nothing new reads no alert table.
    alert_level = models.CharField(max_length=10, blank=True, default="", editable=False)
    calendar_fallback = models.BooleanField(_("按周一至周五推算"), default=False)
    extended_days = models.PositiveSmallIntegerField(_("延期工作日"), default=0)
    # Working time the completion clock of this round spent paused: the deadline moves by it.
    complete_shift_seconds = models.FloatField(_("办结时限顺延秒数"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    OPEN_STATES = (State.REPORTED, State.ACCEPTED, State.DISPATCHED, State.ACKNOWLEDGED, State.ON_SITE,
                   State.COMPLETED, State.VERIFIED)
    CLOSED_STATES = (State.ARCHIVED, State.VOIDED)

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        # No index on the clock columns (clock, stage_due, stage_warn_at, complete_due): the clock
        # pass rewrites them in bulk, and with none of them indexed (and free space left in each
        # page, migration 0001 sets fillfactor) PostgreSQL updates the rows in place (HOT)
        # instead of adding an entry to every index per row.
        indexes = [
            models.Index(fields=["state"], name="case_state"),
            models.Index(fields=["category", "reported_at"], name="case_category_reported"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state not in self.CLOSED_STATES


class CaseNumber(models.Model):
    """The last case number given out per day; bumped with one atomic upsert per case."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("案件编号计数")
        verbose_name_plural = _("案件编号计数")


class WorkOrder(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", _("主办")
        ASSIST = "assist", _("协办")

    class State(models.TextChoices):
        DISPATCHED = "dispatched", _("待签收")
        ACKNOWLEDGED = "acknowledged", _("已签收")
        ON_SITE = "on_site", _("已到场")
        COMPLETED = "completed", _("已办结")
        RETURNED = "returned", _("已退回")
        CANCELLED = "cancelled", _("已撤销")

    OPEN_STATES = (State.DISPATCHED, State.ACKNOWLEDGED, State.ON_SITE)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="work_orders", verbose_name=_("案件"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("单位"))
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices)
    round = models.PositiveSmallIntegerField(_("轮次"), default=1)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DISPATCHED)
    dispatched_at = models.DateTimeField(_("派遣时间"))
    ack_due = models.DateTimeField(_("签收时限"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    on_site_due = models.DateTimeField(_("到场时限"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    due = models.DateTimeField(_("办结时限"), null=True, blank=True)
    result_text = models.TextField(_("处置结果"), blank=True)
    signed_document = models.FileField(_("签章回复"), upload_to="cases/documents/%Y/%m/", null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=500, blank=True)

    class Meta:
        ordering = ["case", "round", "role", "id"]
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        # A unit's queue: its orders by state, most urgent first; its open orders by deadline
        # (ORDER BY due, dispatched_at, id reads the first page straight from the partial index).
        indexes = [models.Index(fields=["unit", "state", "due", "dispatched_at", "id"], name="workorder_unit_queue"),
                   models.Index(fields=["unit", "due", "dispatched_at", "id"], name="workorder_unit_open",
                                condition=Q(state__in=["dispatched", "acknowledged", "on_site"]))]
        # One open work order per unit and case; returned, cancelled and earlier rounds stay as history.
        constraints = [models.UniqueConstraint(fields=["case", "unit"], name="workorder_one_open",
                                               condition=Q(state__in=["dispatched", "acknowledged", "on_site"]))]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.round}/{self.unit_id}"


class CaseEvent(models.Model):
    """One step of a case's timeline. Rows are only ever inserted."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("案件"))
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("操作人"))
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=40)
    from_state = models.CharField(_("原状态"), max_length=20, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    version = models.PositiveIntegerField(_("版本"))

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class Photo(models.Model):
    class Stage(models.TextChoices):
        REPORT = "report", _("上报")
        COMPLETION = "completion", _("处置")
        VERIFICATION = "verification", _("核查")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos", verbose_name=_("案件"))
    stage = models.CharField(_("环节"), max_length=20, choices=Stage.choices, default=Stage.REPORT)
    original = models.FileField(_("原图"), upload_to="cases/photos/original/%Y/%m/")
    public = models.FileField(_("公开图"), upload_to="cases/photos/public/%Y/%m/")
    thumbnail = models.FileField(_("缩略图"), upload_to="cases/photos/thumb/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    exif_lon = models.FloatField(null=True, blank=True)
    exif_lat = models.FloatField(null=True, blank=True)
    exif_distance_m = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name = _("照片")
        verbose_name_plural = _("照片")


class Extension(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("案件"))
    work_order = models.ForeignKey(WorkOrder, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(_("申请时间"))
    days = models.PositiveSmallIntegerField(_("延期工作日"))
    reason = models.CharField(_("申请理由"), max_length=500)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.REQUESTED)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_reason = models.CharField(_("审批意见"), max_length=500, blank=True)

    class Meta:
        ordering = ["case", "requested_at", "id"]
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")


class ClockAlert(models.Model):
    """A warning (yellow) or escalation (red) raised once per case, stage, level and round."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="alerts")
    stage = models.CharField(max_length=20, choices=Case.Stage.choices)
    level = models.CharField(max_length=10, choices=[("yellow", _("预警")), ("red", _("超时"))])
    round = models.PositiveSmallIntegerField(default=1)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("时限告警")
        verbose_name_plural = _("时限告警")
        constraints = [models.UniqueConstraint(fields=["case", "stage", "level", "round"], name="clockalert_once")]


class Notice(models.Model):
    """The outbox: every notice is a row here first; senders deliver it and mark it sent."""

    class State(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    class Channel(models.TextChoices):
        INBOX = "inbox", _("站内消息")
        WEBHOOK = "webhook", _("外部推送")

    kind = models.CharField(_("类型"), max_length=40)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notices")
    # Indexed by the (recipient, read_at) pairs below; fewer indexes keep a burst of alerts cheap.
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="notices", db_index=False)
    recipient_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="notices",
                                       db_index=False)
    recipient_role = models.CharField(max_length=20, blank=True)
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.INBOX)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="notice_pending",
                         condition=Q(state="pending")),
            models.Index(fields=["recipient_user", "read_at"], name="notice_user"),
            models.Index(fields=["recipient_unit", "read_at"], name="notice_unit"),
        ]

    def __str__(self) -> str:
        return self.subject


class ClockLimit(models.Model):
    """Minute limits of the first steps; the admin edits them (defaults: the county's rules)."""

    class Key(models.TextChoices):
        DISPATCH = "dispatch", _("派遣")
        ACKNOWLEDGE = "acknowledge", _("签收")
        ON_SITE = "on_site", _("到场")

    key = models.CharField(_("环节"), max_length=20, choices=Key.choices, unique=True)
    minutes = models.PositiveIntegerField(_("时限（分钟）"))

    class Meta:
        ordering = ["key"]
        verbose_name = _("时限设置")
        verbose_name_plural = _("时限设置")

    def __str__(self) -> str:
        return f"{self.get_key_display()} {self.minutes}"


class NoticeRead(models.Model):
    """A user's read mark on a notice addressed to a unit or a role (shared by many readers)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="noticeread_once")]
