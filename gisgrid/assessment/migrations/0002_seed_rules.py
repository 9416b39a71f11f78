"""The county's scale (合阳县网格化管理考核办法) as the default rules; the admin edits them."""

from decimal import Decimal

from django.db import migrations

# A frozen copy of rules.DEFAULT_RULES at the time of this migration (migrations must not
# change when the module does).
RULES = [
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


def seed(apps, schema_editor):
    Rule = apps.get_model("assessment", "Rule")
    for i, (code, name, subject, kind, points, threshold, params, description) in enumerate(RULES):
        Rule.objects.update_or_create(code=code, defaults=dict(
            name=name, subject=subject, kind=kind, points=Decimal(points),
            threshold=Decimal(threshold) if threshold is not None else None, params=params,
            description=description, order=i + 1, active=True))


def unseed(apps, schema_editor):
    apps.get_model("assessment", "Rule").objects.filter(code__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
