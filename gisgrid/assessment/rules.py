"""The county's scale as data: the default rules (seeded by migration 0002) and their checks.

Weights and thresholds live in `Rule` rows the admin edits; the computation reads them at each
recompute. `check_rule` is the one validation, used by the model (admin forms) and the API.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from gisgrid.errors import BadRequest, Text

# code, name, subject, kind, points, threshold, params, description
DEFAULT_RULES: list[tuple[str, str, str, str, str, str | None, dict, str]] = [
    ("missed_report", "应报未报", "person", "per_item", "-1", None, {},
     "网格内的事项由群众、热线或巡查员先行上报（网格员未报），每件扣1分"),
    ("holiday_report", "周末节假日上报", "person", "per_item", "1", None, {},
     "按工作日历在周末或法定节假日上报事项，每件加1分"),
    ("repeat_complaints", "被动接受反复投诉", "person", "per_item", "-5", "3",
     {"classes": ["突发事件", "民生服务", "安全生产"]},
     "应急类、民生类事项群众投诉达阈值次数前无网格员上报，每起扣5分"),
    ("false_result", "结果不真实或未整改", "unit", "per_item", "-5", None, {"also_grid_members": True},
     "核查不满意被退回返工（结果不真实、未整改），每件扣5分"),
    ("buck_passing", "推诿扯皮、转圈派发", "unit", "per_item", "-5", "2", {"also_grid_members": True},
     "同一案件第阈值次及以后的退回，每件扣5分"),
    ("second_round", "二次工单", "unit", "per_item", "-2", None, {"also_grid_members": True},
     "返工后的第二轮及以后工单，每件扣2分"),
    ("overdue", "超时工单", "unit", "per_item", "-2", None, {"also_grid_members": True},
     "超过办结时限才办结或至今未办结的工单，每件扣2分"),
    ("late_response", "超时响应", "unit", "per_item", "-1", None, {},
     "超过签收时限才签收或至今未签收的工单，每件扣1分"),
    ("satisfaction_rate", "满意率", "unit", "rate", "-0.5", "90", {},
     "核查满意数÷核查数；低于阈值每个百分点扣0.5分"),
    ("closure_rate", "结案率", "unit", "rate", "-0.5", "95", {},
     "到期工单中已办结数÷到期工单数；低于阈值每个百分点扣0.5分"),
    ("on_time_rate", "按时结案率", "unit", "rate", "-0.5", "90", {},
     "到期工单中按时办结数÷到期工单数；低于阈值每个百分点扣0.5分"),
    ("rework_rate", "返工率", "unit", "rate", "-0.5", "10", {"at_most": True},
     "第二轮及以后工单÷全部工单；高于阈值每个百分点扣0.5分"),
    ("patrol_duty", "巡查频次未达标", "person", "per_item", "-2", None, {},
     "专职巡查员：一周内城区网格未全部巡查到（按巡查覆盖计算），且本人巡查网格数低于人均应巡数，每周扣2分"),
    ("quota_warning", "周发现定额", "person", "per_item", "0", "2", {"weekly_working_days": 5},
     "网格员每周（5个工作日）至少主动发现阈值件；一周未发现预警，两周未发现建议替换（本规则分值默认0）"),
]

RATE_RULES = {"satisfaction_rate", "closure_rate", "on_time_rate", "rework_rate"}
MAX_POINTS = Decimal("100")


def number(value: Any, field: str) -> Decimal:
    """A finite decimal from `value` (str, int, float, Decimal); a 400 naming `field` otherwise."""
    if isinstance(value, bool) or value is None or value == "":
        raise BadRequest(Text("必须是数字", "must be a number"), field=field)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadRequest(Text("必须是数字", "must be a number"), field=field) from None
    if not d.is_finite():
        raise BadRequest(Text("必须是有限的数字", "must be a finite number"), field=field)
    return d


def check_rule(code: str, kind: str, points: Any, threshold: Any, params: Any) -> dict[str, list[str]]:
    """Reasons per field why a rule's values are wrong (empty when they are fine)."""
    errors: dict[str, list[str]] = {}
    try:
        p = number(points, "points")
        if abs(p) > MAX_POINTS:
            errors["points"] = ["分值须在 -100 到 100 之间 (between -100 and 100)"]
    except BadRequest:
        errors["points"] = ["必须是数字 (must be a number)"]
    if threshold not in (None, ""):
        try:
            t = number(threshold, "threshold")
            if t < 0 or (kind == "rate" and t > 100):
                errors["threshold"] = ["阈值须在 0 到 100 之间 (between 0 and 100)"]
        except BadRequest:
            errors["threshold"] = ["必须是数字 (must be a number)"]
    elif kind == "rate":
        errors["threshold"] = ["比率指标须有阈值 (a rate needs a threshold)"]
    if not isinstance(params, dict):
        errors["params"] = ["须为对象 (must be an object)"]
    elif "classes" in params and not (isinstance(params["classes"], list)
                                      and all(isinstance(c, str) and c for c in params["classes"])):
        errors["params"] = ["classes 须为非空字符串列表 (classes: a list of strings)"]
    return errors
