"""English through Django i18n: the root catalog (locale/en) for the apps, the admin in English.

The root catalog covers every gettext string in gisgrid/ outside gisgrid/web/ and the case
pages' templates, which keep their own catalogs (gisgrid/web/locale, gisgrid/open311/locale). Regenerate after changing source strings:

    .venv/bin/python manage.py makemessages -l en --no-obsolete --ignore 'gisgrid/web/*' \
        --ignore '.venv/*' --ignore 'frontend/*' --ignore 'var/*' --ignore 'tests/*' \
        --ignore 'geodata/*' --ignore 'docs/*' --ignore '*.egg-info/*' \
        --ignore 'gisgrid/open311/locale' --ignore 'gisgrid/cases/templates/*' --ignore 'gisgrid/push/*' \
        --ignore 'gisgrid/assessment/*'
    msgfmt --check -o locale/en/LC_MESSAGES/django.mo locale/en/LC_MESSAGES/django.po

The .mo files are committed, so running the service never needs gettext installed.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from gisgrid.accounts.roles import ROLE_LABELS
from gisgrid.boundaries.models import Edition, Grid
from gisgrid.incidents.models import Category

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
WEB_PO = ROOT / "gisgrid" / "web" / "locale" / "en" / "LC_MESSAGES" / "django.po"

# Apps with models in the admin (accounts and datasets have none, so no admin section).
APP_NAMES_EN = [
    "Audit",
    "Grid boundaries",
    "Reports and matter list",
    "Patrol tracks",
    "Working-day calendar",
    "Case handling",
    "Open311 public interface",
]
APP_NAMES_ZH = ["审计", "网格边界", "事件与事项清单", "巡查轨迹", "工作日历", "案件办理", "Open311 公众接口"]


def _unquote(lines: list[str]) -> str:
    text = "".join(re.fullmatch(r'"(.*)"', line.strip()).group(1) for line in lines)
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_po(path: Path) -> list[dict]:
    """A tiny .po reader: entries with msgid, msgstr and flags (enough for this catalog)."""
    entries, entry, field = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry is not None and "msgid" in entry:
                entries.append({k: _unquote(v) if isinstance(v, list) else v for k, v in entry.items()})
            entry, field = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgid ", "msgstr ", "msgctxt ", "msgid_plural ")):
            field, rest = line.split(" ", 1)
            entry[field] = [rest]
        elif line.startswith('"') and field:
            entry[field].append(line)
    return entries


def catalog(path: Path) -> dict[str, str]:
    return {e["msgid"]: e.get("msgstr", "") for e in parse_po(path) if e["msgid"]}


# ------------------------------------------------------------------------------------------
# the catalog files


def test_every_entry_translated_and_none_fuzzy():
    entries = parse_po(PO)
    messages = [e for e in entries if e["msgid"]]
    assert len(messages) >= 100
    assert not [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not [e["msgid"] for e in messages if not e.get("msgstr", "").strip()]
    assert not [e["msgid"] for e in messages if re.search(r"[\u4e00-\u9fff]", e["msgstr"])]


def test_catalog_covers_source_strings():
    """Every _("…") outside gisgrid/web is in the root catalog (run makemessages when this fails)."""
    source = set()
    for path in (ROOT / "gisgrid").rglob("*.py"):
        if "web" in path.relative_to(ROOT / "gisgrid").parts[:1] or "migrations" in path.parts:
            continue
        source |= set(re.findall(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)', path.read_text(encoding="utf-8")))
    assert source, "no gettext strings found: the scan is broken"
    assert sorted(source - set(catalog(PO)) - {k for p in (ROOT / "gisgrid").glob("*/locale/en/LC_MESSAGES/django.po") for k in catalog(p)}) == []


def test_compiled_catalog_matches_po():
    """The committed .mo is the compiled .po (a stale .mo would silently show old text)."""
    with MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = {k: v for k, v in catalog(PO).items() if compiled.gettext(k) != v}
    assert stale == {}


def test_shared_msgids_agree_with_web_catalog():
    """LOCALE_PATHS wins over app catalogs: a msgid in both must read the same, or the web
    pages would silently show the root catalog's wording instead of their own. Case may differ
    (admin labels are capitalised, inline page text may not be); the wording may not."""
    web, root = catalog(WEB_PO), catalog(PO)
    differ = {
        k: (root[k], web[k]) for k in root.keys() & web.keys() if web[k] and root[k].lower() != web[k].lower()
    }
    assert differ == {}


def test_mo_files_not_gitignored():
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert not [p for p in ignore if p in ("*.mo", "locale/", "locale", "*.po")]


# ------------------------------------------------------------------------------------------
# labels


def test_labels_in_english():
    with translation.override("en"):
        assert {k: str(v) for k, v in ROLE_LABELS.items()} == {
            "admin": "System administrator",
            "dispatcher": "Command centre dispatcher",
            "unit_staff": "Handling unit staff",
            "grid_member": "Grid member",
            "inspector": "Inspector",
            "grid_chief": "Grid chief",
            "planner": "Grid planner",
        }
        assert dict(Grid.Kind.choices)["urban_grid"] == "Urban grid"
        assert dict(Grid.Kind.choices)["village"] == "Administrative village"
        assert [str(label) for _, label in Edition.Status.choices] == ["Draft", "Active", "Retired"]
        severities = {k: str(v) for k, v in Category.Severity.choices}
        assert severities["general"] == "General matter (3 working days)"
        assert severities["on_the_spot"] == "Handled on the spot"
        assert str(Grid._meta.verbose_name) == "grid"
        assert str(Edition._meta.verbose_name) == "edition"
        assert str(Grid._meta.get_field("unit").verbose_name) == "Responsible unit"


def test_app_names():
    labels = ["accounts", "audit", "boundaries", "datasets", "incidents", "patrols"]
    with translation.override("en"):
        english = [str(apps.get_app_config(label).verbose_name) for label in labels]
    with translation.override("zh-hans"):
        chinese = [str(apps.get_app_config(label).verbose_name) for label in labels]
    assert english == [
        "Accounts and roles",
        "Audit",
        "Grid boundaries",
        "County datasets",
        "Reports and matter list",
        "Patrol tracks",
    ]
    assert chinese == ["账户与角色", "审计", "网格边界", "县级数据集", "事件与事项清单", "巡查轨迹"]


def test_labels_in_chinese():
    with translation.override("zh-hans"):
        assert str(ROLE_LABELS["grid_chief"]) == "网格长"
        assert str(ROLE_LABELS["inspector"]) == "专职巡查员"
        assert dict(Grid.Kind.choices)["urban_grid"] == "城区网格"
        assert [str(label) for _, label in Edition.Status.choices] == ["草稿", "现行", "已废止"]
        assert str(dict(Category.Severity.choices)["general"]) == "一般事项(3个工作日)"
        assert str(Grid._meta.verbose_name) == "网格"


# ------------------------------------------------------------------------------------------
# the admin, per request language


def _admin() -> Client:
    c = Client()
    c.force_login(User.objects.get(username="admin"))
    return c


def test_admin_index_in_english_by_accept_language(heyang_db):
    html = _admin().get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in APP_NAMES_EN:
        assert name in html, name
    for name in APP_NAMES_ZH:
        assert name not in html, name
    assert 'lang="en"' in html
    assert "Matter list" in html and "Site administration" in html


def test_admin_index_in_english_by_cookie(heyang_db):
    c = _admin()
    c.cookies["django_language"] = "en"
    html = c.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Grid boundaries" in html and "网格边界" not in html


def test_admin_index_in_chinese_by_default(heyang_db):
    html = _admin().get("/admin/").content.decode()
    for name in APP_NAMES_ZH:
        assert name in html, name
    assert "Grid boundaries" not in html


def test_admin_grid_list_in_english(heyang_db):
    html = _admin().get("/admin/boundaries/grid/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Select grid to change" in html


def test_locate_role_labels_follow_the_request_language(heyang_db, client):
    r = client.get("/api/v1/locate", {"lon": 110.1449, "lat": 35.2385}, HTTP_ACCEPT_LANGUAGE="en")
    labels = {s["role_label"] for s in r.json()["staff"]}
    assert labels and all(label.isascii() for label in labels), labels
    r = client.get("/api/v1/locate", {"lon": 110.1449, "lat": 35.2385}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert {s["role_label"] for s in r.json()["staff"]} <= {"网格员", "网格长"}
