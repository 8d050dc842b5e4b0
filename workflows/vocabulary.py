"""The words a person reads for the engine's codes, each vocabulary once: code → (中文, English).

Every page, export, notice list and command-line table names deadlines, exit types, review
consequences, handover items, forced-exit handling, messages and steps with these words, so a
firm or an operator sees one thing called by one name everywhere. The wording follows the
rulebook and the notices (``notifications/templates/zh-CN``): 陈述申辩, 腾退期限, 限期整改,
续租优先, 水电表读数. States are :data:`lifecycle.table.STATE_LABELS`; the names inside a
decision's trace are :mod:`workflows.trace_words`.

A new code without words here fails ``tests/unit/test_words_vocabulary.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lifecycle.table import TRANSITIONS

Words = tuple[str, str]

#: Every kind of deadline the engine schedules (``deadlines.kind``).
DEADLINES: dict[str, Words] = {
    "info_request_lapse": ("补充材料期限", "information due"),
    "publicity_end": ("公示期满", "public notice ends"),
    "agreement_lapse_warning": ("签约期限提醒", "signing deadline reminder"),
    "agreement_lapse": ("签约期限", "signing deadline"),
    "term_expiry_warning": ("租期届满提醒", "term end reminder"),
    "term_end": ("租期届满", "term ends"),
    "review_reminder": ("考核报送提醒", "review figures reminder"),
    "review_submission_due": ("考核报送期限", "review figures due"),
    "review_overdue_reminder": ("考核逾期提醒", "review overdue reminder"),
    "rectification_plan_due": ("整改方案提交期限", "rectification plan due"),
    "rectification_end": ("整改期满", "rectification period ends"),
    "cure_end": ("限期改正期满", "cure period ends"),
    "objection_window_end": ("陈述申辩期满", "statement and defence window ends"),
    "vacate_due": ("腾退期限", "vacate by"),
    "graduation_publicity_end": ("毕业公示期满", "graduation notice ends"),
}
#: How a tenancy leaves (``exit_cases.exit_type``).
EXIT_TYPES: dict[str, Words] = {
    "forced": ("强制退出", "forced exit"),
    "voluntary": ("自愿退出", "voluntary exit"),
    "term_expiry": ("期满退出", "term expiry"),
    "graduation": ("毕业退出", "graduation"),
}
#: Where an exit case stands (``exit_cases.status``).
EXIT_STATUS: dict[str, Words] = {
    "open": ("办理中", "Open"),
    "withdrawn": ("已撤销", "Withdrawn"),
    "closed": ("已办结", "Closed"),
}
#: What an annual review's grade leads to under the rulebook.
CONSEQUENCES: dict[str, Words] = {
    "none": ("无", "none"),
    "renewal_priority": ("续租优先", "renewal priority"),
    "rectification": ("限期整改", "rectification"),
    "forced_exit": ("强制退出", "forced exit"),
}
#: What an operator decides on a review (the rulebook's consequence may be overridden).
OUTCOMES: dict[str, Words] = {
    "pass": ("合格", "pass"),
    "rectify": ("责令整改", "rectify"),
    "fail": ("不合格", "fail"),
}
#: The items of the joint handover when a firm leaves.
HANDOVER: dict[str, Words] = {
    "meters": ("水电表读数确认", "meter readings confirmed"),
    "keys": ("钥匙交回", "keys returned"),
    "access_cards": ("门禁卡交回", "access cards returned"),
    "premises_restored": ("场地恢复原状", "premises restored"),
}
#: How a forced-exit trigger of the rulebook is handled.
HANDLING: dict[str, Words] = {
    "immediate": ("立即启动退出", "exit notice at once"),
    "cure": ("限期改正，逾期退出", "cure period, then exit"),
    "demand": ("催告缴纳，逾期退出", "payment demand, then exit"),
    "dormancy": ("空置观察期满退出", "dormancy period, then exit"),
    "delisting": ("移出名录期满退出", "delisting period, then exit"),
    "review": ("由考核结果触发", "raised by the review results"),
    "lease_end": ("租期届满退出", "at the end of the lease"),
}
#: The rulebook's periods (``[periods]``), as its pages and a decision's trace name them.
PERIODS: dict[str, Words] = {
    "info_request_response": ("补充材料期限", "information request answer"),
    "publicity": ("公示期", "public notice period"),
    "objection_lodging": ("异议提出期", "objection lodging"),
    "agreement_signing": ("签约期限", "agreement signing"),
    "agreement_lapse_warning": ("签约到期提醒", "agreement lapse warning"),
    "registration_after_signing": ("签约后注册迁入期限", "registration after signing"),
    "review_quarterly_report": ("季度报送期限", "quarterly report"),
    "rectification_plan": ("整改方案期限", "rectification plan"),
    "rectification": ("整改期", "rectification"),
    "rectification_extension_max": ("整改延期上限", "longest rectification extension"),
    "objection_window": ("陈述申辩期", "objection window"),
    "vacate": ("腾退期", "vacating period"),
    "vacate_immediate": ("立即退出的腾退期", "vacating after an immediate exit"),
    "cure_notice": ("限期改正期", "cure period"),
    "arrears_demand": ("催缴期", "payment demand"),
    "delisting": ("移出名录期", "delisting"),
    "shell_dormancy": ("空置观察期", "dormancy"),
    "registration_move_out": ("退出后注册迁出期限", "registration move-out"),
    "deposit_claim": ("押金结算期限", "deposit claim"),
    "graduation_publicity": ("毕业公示期", "graduation publicity"),
    "graduation_leave": ("毕业后迁出期限", "graduation leave"),
    "voluntary_notice": ("主动退出提前通知期", "voluntary exit notice"),
    "renewal_request": ("续租申请期限", "renewal request"),
    "fraud_reapply_bar": ("弄虚作假再申请限制期", "reapplication bar after fraud"),
    "sublet_objection": ("转租异议期", "sublet objection"),
}
#: The kinds of preferential benefit a firm is granted (clawed back on some exits).
BENEFITS: dict[str, Words] = {
    "rent_free": ("免租", "rent free"),
    "rent_reduction": ("租金减免", "rent reduction"),
    "subsidy": ("补贴", "subsidy"),
}
#: The kinds of objection a firm or a third party lodges.
OBJECTION_KINDS: dict[str, Words] = {
    "publicity_objection": ("公示异议", "objection to the public notice"),
    "exit_defence": ("陈述申辩", "statement and defence"),
}
#: Every message of :data:`notifications.catalog.CATALOG`, as a list of notices names it.
MESSAGES: dict[str, Words] = {
    "application_received": ("收到入驻申请", "application received"),
    "info_requested": ("补充材料通知", "information requested"),
    "screening_result": ("形式审查结果", "screening result"),
    "scoring_result": ("专家评审结果", "panel result"),
    "rejection_without_panel": ("不予受理通知", "rejected without panel"),
    "publicity_start": ("公示开始", "public notice starts"),
    "publicity_end": ("公示期满", "public notice ends"),
    "objection_ruling": ("异议处理结果", "objection ruling"),
    "admitted": ("准予入驻通知", "admission notice"),
    "agreement_lapse_warning": ("签约期限提醒", "signing deadline reminder"),
    "agreement_signed": ("入驻协议已签订", "agreement signed"),
    "application_withdrawn": ("申请已撤回", "application withdrawn"),
    "application_lapsed": ("申请已失效", "application lapsed"),
    "review_opened": ("年度考核开始", "annual review opened"),
    "review_received": ("考核数据回执", "review figures received"),
    "review_reminder": ("考核报送提醒", "review figures reminder"),
    "review_overdue": ("考核报送逾期", "review overdue"),
    "review_result": ("年度考核结果", "review result"),
    "rectification_notice": ("限期整改通知", "rectification notice"),
    "rectification_extended": ("整改期延长", "rectification extended"),
    "reinspection_result": ("整改复查结果", "reinspection result"),
    "cure_notice": ("限期改正通知", "cure notice"),
    "exit_notice": ("退出告知书", "exit notice"),
    "exit_ruling": ("退出决定书", "exit ruling"),
    "exit_confirmed": ("退出确认", "exit confirmed"),
    "graduation": ("毕业通知", "graduation"),
    "graduation_publicity_start": ("毕业公示开始", "graduation notice starts"),
    "graduation_publicity_end": ("毕业公示期满", "graduation notice ends"),
    "vacate_overdue": ("逾期未腾退", "vacating overdue"),
    "handover_settlement": ("交接与结算", "handover and settlement"),
    "term_expiry_warning": ("租期届满提醒", "term end reminder"),
    "operator_digest": ("运营日报", "operators' digest"),
    "opportunity_returned": ("机会清单条目退回", "opportunity entry returned"),
    "opportunity_accepted": ("机会清单条目入选", "opportunity entry accepted"),
    "opportunity_published": ("机会清单已发布", "opportunity list published"),
}
#: Where a firm's annual review stands (``reviews.status``).
REVIEW_STATUS: dict[str, Words] = {
    "open": ("待报送", "awaiting figures"),
    "submitted": ("已报送", "submitted"),
    "decided": ("已评定", "decided"),
}
#: An account's role.
ROLES: dict[str, Words] = {
    "admin": ("管理员", "admin"),
    "operator": ("运营人员", "operator"),
    "reviewer": ("评审专家", "reviewer"),
    "firm": ("企业用户", "firm"),
    "viewer": ("只读", "viewer"),
}
#: Whether an account may sign in.
ACCOUNT_STATUS: dict[str, Words] = {
    "active": ("正常", "enabled"),
    "locked": ("已锁定", "locked"),
    "disabled": ("已停用", "disabled"),
}
#: Who a notice is for (``notifications.catalog.AUDIENCES``).
AUDIENCES: dict[str, Words] = {
    "firm": ("企业", "the firm"),
    "manager": ("客户经理", "the account manager"),
    "operators": ("运营人员", "the operators"),
}
#: Where a notice in the outbox stands.
OUTBOX_STATUS: dict[str, Words] = {
    "pending": ("待发送", "pending"),
    "sent": ("已发送", "sent"),
    "dead": ("死信（已停止重试）", "dead letter"),
}
#: What a step is called, by its audit trigger: the table's transitions and the steps that
#: record without changing the state.
STEPS: dict[str, Words] = {
    **{t.trigger: (t.label_zh, t.label_en) for t in TRANSITIONS},
    "apply": ("提交入驻申请", "application submitted"),
    "score": ("评审专家评分", "reviewer scored"),
    "assign_reviewer": ("指派评审专家", "reviewer assigned"),
    "unassign_reviewer": ("撤销评审专家指派", "reviewer unassigned"),
    "lodge_objection": ("提出异议或陈述申辩", "objection or defence lodged"),
    "dismiss_objection": ("异议不成立", "objection dismissed"),
    "submit_review": ("报送年度考核数据", "review figures submitted"),
    "file_plan": ("提交整改方案", "rectification plan filed"),
    "extend_rectification": ("延长整改期", "rectification extended"),
    "report_violation": ("登记违规", "violation reported"),
    "record_benefit": ("登记优惠政策", "benefit recorded"),
    "waive_window": ("企业书面放弃期限", "window waived in writing"),
    "request_voluntary_exit": ("申请自愿退出", "voluntary exit requested"),
    "amend_agreement": ("变更入驻协议", "agreement amended"),
    "correct": ("更正记录", "record corrected"),
}
#: The steps of an application: an objection lodged there is one to the public notice.
APPLICATION_STEPS: dict[str, Words] = {
    **STEPS,
    "lodge_objection": ("登记公示异议", "objection to the public notice lodged"),
}
#: The steps of an exit case: an objection lodged there is the firm's statement and defence.
EXIT_STEPS: dict[str, Words] = {
    **STEPS,
    "lodge_objection": ("提交陈述申辩", "statement and defence lodged"),
}


def words(table: Mapping[str, Words], code: str | None) -> Words:
    """The words for ``code`` in ``table`` (the code itself when the table does not know it;
    a dash for no code)."""
    if code is None:
        return ("—", "—")
    return table.get(code, (code, code))
