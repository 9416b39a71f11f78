"""The grid hierarchy, stored as versioned editions (MapIt's generations).

A grid is identified across editions by its stable GB/T 30428.1 code; each edition holds its
own copy of every grid's geometry, so routing stored on a report keeps pointing at the shape
it was decided with after a redraw. Staff are assigned by code, not by row, so they survive
redraws without being copied.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Unit(models.Model):
    """An organisation that owns grids or handles matters: town, committee, county department."""

    class Kind(models.TextChoices):
        COUNTY = "county", _("县级指挥中心")
        TOWN = "town", _("镇人民政府")
        STREET_OFFICE = "street_office", _("街道办事处")
        ZONE = "zone", _("开发区管委会")
        SCENIC_AREA = "scenic_area", _("景区管委会")
        VILLAGE_COMMITTEE = "village_committee", _("村民委员会")
        COMMUNITY_COMMITTEE = "community_committee", _("社区居民委员会")
        DEPARTMENT = "department", _("县直部门")
        OTHER = "other", _("其他")

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=30, choices=Kind.choices, default=Kind.OTHER)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    phone = models.CharField(_("电话"), max_length=40, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A named person on the grid: grid chief, grid member or full-time inspector."""

    class Role(models.TextChoices):
        GRID_CHIEF = "grid_chief", _("网格长")
        GRID_MEMBER = "grid_member", _("网格员")
        INSPECTOR = "inspector", _("专职巡查员")

    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="people")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        constraints = [models.UniqueConstraint(fields=["name", "phone"], name="person_name_phone_unique")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_role_display()}）"


class Edition(models.Model):
    """One version of the whole grid hierarchy: draft -> active -> retired."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        ACTIVE = "active", _("现行")
        RETIRED = "retired", _("已废止")

    name = models.CharField(_("名称"), max_length=100)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="drafts")
    valid_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    valid_to = models.DateTimeField(_("失效时间"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    # Optimistic concurrency: every edit must name the version it read; a stale one gets 409.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, default="610524")
    county_name = models.CharField(_("县名"), max_length=50, default="合阳县")
    county_geom = models.MultiPolygonField(_("县界"), srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("网格版本")
        verbose_name_plural = _("网格版本")
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_edition")
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.get_status_display()}]"


class Grid(models.Model):
    """A grid of level 1-3 in one edition."""

    class Kind(models.TextChoices):
        STREET_OFFICE = "street_office", _("街道")
        TOWN = "town", _("镇")
        ZONE = "zone", _("开发区")
        SCENIC_AREA = "scenic_area", _("景区")
        VILLAGE = "village", _("行政村")
        COMMUNITY = "community", _("社区")
        URBAN_GRID = "urban_grid", _("城区网格")
        RURAL_GRID = "rural_grid", _("村民小组网格")

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="grids")
    code = models.CharField(_("网格编码"), max_length=15)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    geom = models.MultiPolygonField(_("范围"), srid=4326)
    area_m2 = models.FloatField(_("面积(m²)"), default=0)
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="grids", verbose_name=_("包联单位")
    )
    # A level-2 community with level-3 grids drawn over it (the county town); its uncovered
    # area is blind spot, the community's own duty.
    urban = models.BooleanField(_("城区社区"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        constraints = [models.UniqueConstraint(fields=["edition", "code"], name="grid_code_unique_per_edition")]
        indexes = [models.Index(fields=["edition", "level"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent_id else None


class GridAssignment(models.Model):
    """A person serving a grid, keyed by the grid's stable code so it outlives editions."""

    class Role(models.TextChoices):
        GRID_CHIEF = "grid_chief", _("网格长")
        GRID_MEMBER = "grid_member", _("网格员")

    grid_code = models.CharField(_("网格编码"), max_length=15, db_index=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("职责"), max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["grid_code", "role", "id"]
        verbose_name = _("网格人员")
        verbose_name_plural = _("网格人员")
        constraints = [
            models.UniqueConstraint(fields=["grid_code", "person", "role"], name="assignment_unique")
        ]


class Place(models.Model):
    """Gazetteer entry: a compound, street, village or community that a caller may name."""

    class Kind(models.TextChoices):
        COMPOUND = "compound", _("住宅小区")
        STREET = "street", _("街道路段")
        VILLAGE = "village", _("行政村")
        COMMUNITY = "community", _("社区")
        TOWN = "town", _("镇街")
        LANDMARK = "landmark", _("地标")

    class Category(models.TextChoices):
        """What a landmark is (kind = landmark); the hotline says "县医院", "汽车站"."""

        SCHOOL = "school", _("学校")
        HOSPITAL = "hospital", _("医院")
        CLINIC = "clinic", _("卫生院/诊所")
        MARKET = "market", _("市场")
        SQUARE = "square", _("广场")
        GOVERNMENT = "government", _("政府机关")
        BUS_STATION = "bus_station", _("汽车站")
        SCENIC = "scenic", _("景点")
        OTHER = "other", _("其他")

    name = models.CharField(_("名称"), max_length=100)
    aliases = models.TextField(_("别名"), blank=True, help_text=_("以 | 分隔"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    category = models.CharField(_("地标类别"), max_length=20, choices=Category.choices, blank=True, default="")
    point = models.PointField(_("代表点"), srid=4326)
    geom = models.GeometryField(_("范围"), srid=4326, null=True, blank=True)
    # Which import_places file (or dataset) a row came from: importing it again replaces those rows.
    source = models.CharField(_("来源"), max_length=200, blank=True, default="")
    # The in-memory gazetteer index is rebuilt when the newest change moves (gazetteer.py).
    updated = models.DateTimeField(_("更新时间"), auto_now=True)
    # Text searched by trigram: name plus aliases, so one index answers both.
    search_text = models.TextField(editable=False, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("地名")
        verbose_name_plural = _("地名")
        indexes = [GinIndex(fields=["search_text"], name="place_search_trgm", opclasses=["gin_trgm_ops"])]

    def save(self, *args, **kwargs):
        self.search_text = " ".join([self.name, *self.alias_list()])
        super().save(*args, **kwargs)

    def alias_list(self) -> list[str]:
        return [a for a in (self.aliases or "").split("|") if a]

    def __str__(self) -> str:
        return self.name


class EditionChange(models.Model):
    """One edit of a draft, with the geometries before and after, for undo/redo and history.

    `before`/`after` map grid codes to {"name", "level", "parent_code", "kind", "unit_id",
    "wkb"} (hex WKB) or null where the grid did not exist on that side.
    """

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="changes")
    seq = models.PositiveIntegerField()
    op = models.CharField(max_length=30)
    params = models.JSONField(default=dict)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    undone = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["edition", "seq"]
        constraints = [models.UniqueConstraint(fields=["edition", "seq"], name="edition_change_seq_unique")]
