"""`innospace demo`: a space modelled on 成都医学城三医创新中心, three simulated years.

Every step goes through the same handlers and sweeps the CLI uses, with an injected clock that
moves one day at a time. Each firm has a *fate* (what kind of firm it is); an operator policy
acts on it as a space operator would, a few working days after each state is reached.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from db import meta
from db.migrate import upgrade
from entrypoints import demo_opportunities as opportunity_data
from entrypoints.bootstrap import App, bootstrap
from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists, InnospaceError
from lifecycle.table import ACTIVE, TERMINAL
from workflows import answers, queries, queries_ops
from workflows import commands as c
from workflows import opportunity_commands as oc
from workflows.sweeps import sweep_deadlines

SHANGHAI = ZoneInfo("Asia/Shanghai")
START, END = date(2022, 1, 4), date(2024, 12, 31)
# 第5期城市机会清单 is published at the end of 2022 (the seed article is dated 2023-01-01);
# the operators record how the introductions went in the spring.
LIST_DAY, FOLLOW_UP_DAY = date(2022, 12, 20), date(2023, 3, 15)

# (fate, how many) — the generated firms; the seed article's firms are added by name.
FATES: list[tuple[str, int]] = [
    ("steady", 9),
    ("strong", 2),
    ("too_old", 1),
    ("polluting", 1),
    ("info_lapse", 1),
    ("info_resubmit", 1),
    ("withdraw", 1),
    ("low_score", 2),
    ("objection", 1),
    ("agreement_lapse", 1),
    ("rectify_pass", 2),
    ("rectify_fail", 1),
    ("double_d", 1),
    ("voluntary", 2),
    ("sublet", 1),
    ("defence_upheld", 1),
    ("arrears", 1),
    ("no_submit", 1),
    ("term_expiry", 2),
    ("acceleration", 1),
]
INDUSTRIES = ("pharma", "medical_devices", "health_services", "medical_big_data")
NAMES = ("康", "瑞", "博", "华", "泰", "源", "智", "健", "恒", "明", "德", "信", "安", "诺")
SUFFIX = ("生物科技", "医疗器械", "健康科技", "医药", "基因科技", "数据科技")


@dataclass
class Firm:
    name: str
    fate: str
    industry: str
    space: str = "MC3"
    apply_on: date = START
    uscc: str = ""
    tenancy: int | None = None
    state: str | None = None
    since: date = START
    flags: set[str] = field(default_factory=set)


def _id(firm: Firm) -> int:
    """The firm's tenancy id (it has applied)."""
    assert firm.tenancy is not None
    return firm.tenancy


class Demo:
    def __init__(self, app: App, clock: FixedClock, seed: int) -> None:
        self.app, self.clock, self.rng = app, clock, random.Random(seed)
        self.service = app.service
        self.firms: list[Firm] = []
        self.delivered = 0
        self.refused: Counter[str] = Counter()
        self.cohorts: list[dict[str, Any]] = []
        self.entries: dict[str, int] = {}  # opportunity entries by title
        self.introductions: list[tuple[int, tuple[str, ...]]] = []
        self.list_hash: str | None = None

    # ---- set-up ---------------------------------------------------------------------------
    def setup(self, n_firms: int) -> None:
        do = self.service.handle
        do(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
        do(c.CreateSpace(code="HXP", name="海峡中小企业孵化园"))
        layout = [
            ("A", "office", 60, 200, 18),
            ("L", "lab", 150, 300, 10),
            ("W", "wet_lab", 120, 260, 8),
            ("P", "production", 400, 800, 4),
        ]
        for prefix, kind, low, high, count in layout:
            for i in range(count):
                do(
                    c.AddUnit(
                        space="MC3",
                        code=f"{prefix}-{101 + i}",
                        kind=kind,
                        area_m2=self.rng.randrange(low, high, 10),
                    )
                )
        for i in range(6):
            do(c.AddUnit(space="HXP", code=f"H-{201 + i}", kind="office", area_m2=80 + 10 * i))
        self.setup_land()
        self.firms = [
            Firm("峰际生物", "strong", "pharma"),
            Firm("君健万峰", "steady", "medical_devices", space="HXP"),
        ]
        named = len(self.firms)
        fates = [f for f, n in FATES for _ in range(n)]
        while len(self.firms) < n_firms:
            fate = fates[(len(self.firms) - named) % len(fates)]
            name = self.rng.choice(NAMES) + self.rng.choice(NAMES) + self.rng.choice(SUFFIX)
            name = f"成都{name}有限公司"
            if any(f.name == name for f in self.firms):
                continue
            self.firms.append(Firm(name, fate, self.rng.choice(INDUSTRIES)))
        # The article's other named firms, beside the generated ones (their stories unchanged).
        self.firms += [Firm(n, f, ind, space=sp) for n, f, ind, sp in opportunity_data.NAMED_FIRMS]
        for i, firm in enumerate(self.firms):
            firm.uscc = make_uscc(self.rng)
            firm.apply_on = START + timedelta(days=7 * (i % 20) + (i // 20) * 3)
            founded = firm.apply_on - timedelta(days=5 * 365 if firm.fate == "too_old" else 400)
            do(
                c.RegisterFirm(
                    name=firm.name,
                    uscc=firm.uscc,
                    industry=firm.industry,
                    founded_on=founded,
                    contact_name="联系人",
                    contact_email=f"contact{i}@firm{i}.example.cn",
                    account_manager="客户经理刘",
                    locale="zh-CN",
                )
            )

    def setup_land(self) -> None:
        """The article's other four spaces, the six spaces' land parcels, the new units."""
        do = self.service.handle
        for code, name in opportunity_data.NEW_SPACES:
            do(c.CreateSpace(code=code, name=name))
        for space, prefix, count, area in opportunity_data.NEW_UNITS:
            for i in range(count):
                do(c.AddUnit(space=space, code=f"{prefix}-{101 + i}", kind="office", area_m2=area))
        for space, parcel, use, land, floor in opportunity_data.PARCELS:
            do(
                oc.AddParcel(
                    space=space,
                    parcel_code=parcel,
                    land_use=use,
                    land_area_m2=land,
                    floor_area_m2=floor,
                    actor="资产部",
                )
            )

    # ---- 第5期城市机会清单 -------------------------------------------------------------------
    def opportunity_list(self, today: date) -> None:
        """The spaces and their firms submit 20 needs and 16 supplies; the operators return
        one and accept all; the district publishes 第5期; needs are introduced to supplies."""
        by_name = {f.name: f for f in self.firms}
        valid_until = date(today.year + 1, 12, 31)
        for kind, rows in (("need", opportunity_data.NEEDS), ("supply", opportunity_data.SUPPLIES)):
            for space, firm_name, title, fld, sought, description in rows:
                firm = by_name.get(firm_name) if firm_name else None
                resident = firm is not None and firm.state not in (None, *TERMINAL)
                done = self.do(
                    oc.SubmitEntry(
                        space=space,
                        firm=firm.uscc if resident and firm is not None else None,
                        kind=kind,
                        title=title,
                        description=description + opportunity_data.SAMPLE,
                        field=fld,
                        sought=sought,
                        contact_name="联系人" if resident else "招商服务中心",
                        contact_phone=None if resident else "028-8268 0000",
                        contact_public=not resident,
                        valid_until=valid_until,
                        actor=firm_name or "空间运营方",
                    )
                )
                if done is not None:
                    self.entries[title] = done["entry_id"]
        first = next(iter(self.entries.values()))
        self.do(
            oc.ReturnEntry(entry_id=first, reason="请写明合作医院的级别与合作方式", actor="运营部")
        )
        self.do(
            oc.EditEntry(
                entry_id=first,
                sought="三甲医院检验科、肿瘤科临床验证合作",
                actor="运营部",
                reason="按退回意见补充",
            )
        )
        for entry_id in self.entries.values():
            self.do(oc.AcceptEntry(entry_id=entry_id, actor="运营部"))
        district = "温江区新经济和科技局"
        self.do(
            oc.CreateList(
                number=5, title="温江区第5期城市机会清单（高品质科创空间）", actor=district
            )
        )
        self.do(oc.ArrangeList(number=5, entry_ids=tuple(self.entries.values()), actor=district))
        published = self.do(oc.PublishList(number=5, actor=district))
        self.list_hash = None if published is None else published["content_hash"]
        for need, supply, outcomes in opportunity_data.INTRODUCTIONS:
            if need in self.entries and supply in self.entries:
                done = self.do(
                    oc.Introduce(
                        need_id=self.entries[need], supply_id=self.entries[supply], actor="运营部"
                    )
                )
                if done is not None:
                    self.introductions.append((done["introduction_id"], outcomes))

    def follow_up(self) -> None:
        """How each introduction went."""
        for introduction_id, outcomes in self.introductions:
            for outcome in outcomes:
                self.do(
                    oc.RecordOutcome(
                        introduction_id=introduction_id, outcome=outcome, actor="运营部"
                    )
                )

    # ---- the operator and the firms -------------------------------------------------------
    def act(self, firm: Firm, today: date) -> None:
        if firm.tenancy is None:
            if today >= firm.apply_on:
                self.apply(firm, today)
            return
        waited = (today - firm.since).days
        handler = getattr(self, f"on_{firm.state}", None)
        if handler is not None and waited >= 2:
            handler(firm, today, waited)

    def do(self, command: c.Command) -> Any:
        try:
            return self.service.handle(command)
        except InnospaceError as err:  # a refusal is part of the story; count it, go on
            self.refused[err.code] += 1
            return None

    def apply(self, firm: Firm, today: date) -> None:
        profile = good_profile(
            today,
            industry=firm.industry,
            track="acceleration" if firm.fate == "acceleration" else "incubation",
            area=self.rng.choice((60, 90, 120, 150, 200)),
        )
        profile.pop("founded_on")
        if firm.fate == "polluting":
            profile["water_intensive_or_polluting"] = True
        step = self.do(
            c.Apply(
                firm=firm.uscc,
                space=firm.space,
                profile=profile,
                requested_area_m2=profile["requested_area_m2"],
                track=profile["track"],
                actor="企业",
            )
        )
        if step is not None:
            firm.tenancy = step.tenancy_id

    def on_applied(self, firm: Firm, today: date, waited: int) -> None:
        if firm.fate in ("info_lapse", "info_resubmit") and "asked" not in firm.flags:
            firm.flags.add("asked")
            self.do(
                c.RequestInfo(
                    tenancy_id=_id(firm), items="近三年财务报表、知识产权证明", actor="招商部"
                )
            )
        else:
            self.do(c.Screen(tenancy_id=_id(firm), actor="招商部"))

    def on_info_requested(self, firm: Firm, today: date, waited: int) -> None:
        if firm.fate == "info_resubmit" and waited >= 4:
            self.do(c.Resubmit(tenancy_id=_id(firm), actor="企业", profile={"staff": 20}))

    def on_evaluating(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        if firm.fate == "withdraw":
            self.do(c.Withdraw(tenancy_id=t, actor="企业", reason="融资到位，另选场地"))
            return
        level = 0.45 if firm.fate == "low_score" else (0.9 if firm.fate == "strong" else 0.76)
        panel = ("王教授", "李研究员", "张总", "陈博士", "周主任")[: 5 if t % 3 == 0 else 3]
        for reviewer in panel:
            jitter = self.rng.uniform(-0.08, 0.08)
            self.do(
                c.ScoreApplication(
                    tenancy_id=t,
                    reviewer=reviewer,
                    actor="专家组",
                    scores=scores(max(0.0, min(1.0, level + jitter))),
                )
            )
        if t % 4 == 0:
            self.do(
                c.ScoreApplication(
                    tenancy_id=t,
                    reviewer="吴顾问",
                    conflict_of_interest=True,
                    scores=scores(1.0),
                    actor="专家组",
                )
            )
        if self.do(c.Approve(tenancy_id=t, actor="评审委员会")) is None:
            self.do(c.Reject(tenancy_id=t, actor="评审委员会", reason="专家评审平均分未达通过线"))

    def on_publicity(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        if firm.fate == "objection" and "objected" not in firm.flags:
            firm.flags.add("objected")
            self.do(
                c.LodgeObjection(
                    tenancy_id=t,
                    by="成都某生物科技有限公司（盖章）",
                    actor="公示办",
                    grounds="申请材料中的发明专利权属存在争议",
                    evidence="专利诉讼受理通知书",
                )
            )
            self.do(c.LodgeObjection(tenancy_id=t, by=None, actor="公示办", grounds="匿名来信"))
        elif firm.fate == "objection":
            self.do(
                c.RuleOnObjection(
                    tenancy_id=t,
                    upheld=True,
                    actor="评审委员会",
                    reason="经核实，专利权属争议尚未解决，异议成立",
                )
            )

    def on_admitted(self, firm: Firm, today: date, waited: int) -> None:
        if firm.fate == "agreement_lapse" or waited < 3:
            return
        unit = self.free_unit(firm.space)
        if unit is None:
            return
        years = 1 if firm.fate == "term_expiry" else 3
        start = today + timedelta(days=7)
        end = start.replace(year=start.year + years) - timedelta(days=1)
        self.do(
            c.Sign(
                tenancy_id=_id(firm),
                units=(unit,),
                term_start=start,
                term_end=end,
                deposit_yuan=20000,
                actor="资产部",
            )
        )

    def free_unit(self, space: str) -> str | None:
        return self.service.query(queries.free_unit, space=space)

    def on_active(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        fate, done = firm.fate, firm.flags
        if fate == "voluntary" and waited > 240 and "asked" not in done:
            done.add("asked")
            leave_on = self.service.query(answers.earliest_leave_on_of, tenancy_id=t)
            self.do(
                answers.RequestVoluntaryExit(
                    tenancy_id=t,
                    leave_on=leave_on + timedelta(days=14),
                    actor="企业",
                    reason="迁往自有厂房",
                )
            )
        elif fate == "voluntary" and waited > 300:
            self.do(
                c.BeginExit(
                    tenancy_id=t,
                    exit_type="voluntary",
                    actor="资产部",
                    reason="企业书面申请提前两个月退出",
                )
            )
        elif fate == "sublet" and waited > 200 and "served" not in done:
            done.add("served")
            self.do(
                c.ReportViolation(
                    tenancy_id=t,
                    code="sublet",
                    facts="将B区单元转租给第三方",
                    evidence="现场检查记录及照片",
                    actor="物业",
                )
            )
            self.do(
                c.ServeExitNotice(
                    tenancy_id=t,
                    grounds="sublet",
                    actor="资产部",
                    facts="未经同意擅自转租，违反入驻协议第十二条",
                    proof_of_service="EMS 1180 0000 001，企业签收",
                )
            )
        elif fate == "defence_upheld" and waited > 250 and "served" not in done:
            done.add("served")
            # A cure notice first: the exit notice follows when it runs out uncured (the sweep).
            self.do(
                c.ReportViolation(
                    tenancy_id=t,
                    code="change_of_use",
                    facts="实验室被改作员工宿舍",
                    evidence="现场检查记录及照片",
                    actor="物业",
                )
            )
        elif fate == "arrears" and waited > 150 and "demanded" not in done:
            done.add("demanded")
            self.do(
                c.ReportViolation(
                    tenancy_id=t,
                    code="arrears",
                    facts="拖欠租金及物业费三个月",
                    evidence="财务催缴记录",
                    actor="财务部",
                )
            )

    def on_under_review(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        period = today.year - 1
        if firm.fate != "no_submit" and f"submitted{period}" not in firm.flags and waited >= 3:
            firm.flags.add(f"submitted{period}")
            weak = firm.fate in ("rectify_fail", "double_d") or (
                firm.fate == "rectify_pass" and period == 2022
            )
            level = "weak" if weak else ("strong" if firm.fate == "strong" else "steady")
            self.do(
                c.SubmitReview(
                    tenancy_id=t,
                    period=period,
                    actor="企业",
                    figures=figures(level, year=period, rng=self.rng),
                )
            )

    def on_rectifying(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        if "plan" not in firm.flags and waited >= 5:
            firm.flags.add("plan")
            self.do(
                c.FileRectificationPlan(
                    tenancy_id=t, actor="企业", plan="补齐研发投入，按期缴纳租金，完善统计报送"
                )
            )
        elif waited >= 80:
            firm.flags.discard("plan")
            passed = firm.fate != "rectify_fail"
            self.do(
                c.Reinspect(
                    tenancy_id=t,
                    passed=passed,
                    actor="考核小组",
                    reason=None if passed else "复查时各项指标仍未达标",
                )
            )

    def on_exit_notice(self, firm: Firm, today: date, waited: int) -> None:
        t = firm.tenancy
        assert t is not None
        if firm.fate in ("sublet", "defence_upheld") and "defended" not in firm.flags:
            firm.flags.add("defended")
            self.do(
                c.LodgeObjection(
                    tenancy_id=t,
                    by=firm.name,
                    actor="企业",
                    grounds="陈述申辩：情况与事实不符",
                    evidence="租赁台账",
                )
            )
        elif "defended" in firm.flags and "ruled" not in firm.flags:
            firm.flags.add("ruled")
            upheld = firm.fate == "defence_upheld"
            self.do(
                c.RuleOnObjection(
                    tenancy_id=t,
                    upheld=upheld,
                    actor="评审委员会",
                    reason="经复核，该单元用于夜间实验值守，申辩成立"
                    if upheld
                    else "经复核，转租事实清楚，申辩不成立",
                )
            )

    def on_vacating(self, firm: Firm, today: date, waited: int) -> None:
        if waited >= (45 if firm.fate == "arrears" else 20):
            self.do(
                c.HandOver(
                    tenancy_id=_id(firm),
                    checklist=HANDOVER,
                    actor="物业",
                    arrears_yuan=36000 if firm.fate == "arrears" else 0,
                )
            )

    # ---- the calendar of the space --------------------------------------------------------
    def open_reviews(self, today: date) -> None:
        for firm in self.firms:
            if firm.state == ACTIVE and firm.tenancy is not None:
                self.do(
                    c.OpenReview(tenancy_id=firm.tenancy, period=today.year - 1, actor="考核小组")
                )

    def decide_cohorts(self, today: date) -> None:
        """After the deadline the review group grades each space's cohort at once (A cap),
        then verifies the graduation candidates the system detected."""
        for space in ("MC3", "HXP"):
            try:
                result = self.service.handle(
                    c.DecideCycle(space=space, period=today.year - 1, actor="考核小组")
                )
            except InnospaceError as err:
                self.refused[err.code] += 1
                continue
            grades = Counter(d["grade"] for d in result["decided"])
            self.cohorts.append(
                {
                    "space": space,
                    "period": today.year - 1,
                    "cohort": result["cohort"],
                    "grades": dict(grades),
                }
            )
            for candidate in result["graduation_candidates"]:
                met = "；".join(m.get("label_zh", "") for m in candidate["met"])
                self.do(
                    c.BeginExit(
                        tenancy_id=candidate["tenancy_id"],
                        exit_type="graduation",
                        actor="资产部",
                        reason=f"经核实符合毕业条件：{met}",
                    )
                )

    def refresh(self, today: date) -> None:
        states = self.service.query(queries.tenancy_states)
        for firm in self.firms:
            if firm.tenancy is not None and states.get(firm.tenancy) != firm.state:
                firm.state, firm.since = states[firm.tenancy], today

    def run(self, show_progress: bool) -> None:
        days = (END - START).days + 1
        progress = _progress(days) if show_progress else None
        first_workdays = {
            self.service.query(queries_ops.first_workday_of, year=y) for y in (2023, 2024)
        }
        # the day after the 10th working day of January: the review deadline has passed
        decide_days = {
            self.service.query(queries_ops.nth_workday_of, year=y, month=1, n=11)
            for y in (2023, 2024)
        }
        for offset in range(days):
            today = START + timedelta(days=offset)
            self.clock.set(
                datetime.combine(today, datetime.min.time(), SHANGHAI) + timedelta(hours=9)
            )
            sweep_deadlines(self.service)
            self.refresh(today)
            workday = self.service.query(queries_ops.is_workday, day=today)
            if workday:
                if today in first_workdays:
                    self.open_reviews(today)
                    self.refresh(today)
                if today in decide_days:
                    self.decide_cohorts(today)
                    self.refresh(today)
                for firm in self.firms:
                    self.act(firm, today)
                self.refresh(today)
                if today == LIST_DAY:
                    self.opportunity_list(today)
                elif today == FOLLOW_UP_DAY:
                    self.follow_up()
            if offset % 7 == 0 or offset == days - 1:
                self.delivered += self.app.relay(self.clock).run_once().delivered
            if progress:
                progress(1)


def _progress(total: int) -> Any:
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    task = bar.add_task("模拟三年 / simulating three years", total=total)

    def advance(n: int) -> None:
        bar.advance(task, n)
        if bar.tasks[0].completed >= total:
            bar.stop()

    return advance


def run_demo(
    path: Path, *, firms: int = 36, seed: int = 2022, overwrite: bool = False
) -> dict[str, Any]:
    started = time.perf_counter()
    if path.exists() and not overwrite and not made_by_demo(path):
        raise NotADemoDatabase(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    clock = FixedClock(datetime(2022, 1, 4, 9, tzinfo=SHANGHAI))
    app = bootstrap(database_url=f"sqlite:///{path}", clock=clock)
    upgrade(app.engine)
    with app.engine.begin() as conn:
        meta.set_training(conn, made_by=meta.DEMO)
    demo = Demo(app, clock, seed)
    demo.setup(max(firms, 30))
    demo.run(show_progress=sys.stdout.isatty())
    summary = _summary(app, demo, time.perf_counter() - started)
    _print(summary, path)
    app.engine.dispose()
    return summary


class NotADemoDatabase(AlreadyExists):
    """``demo --out`` names a file the demo did not create: it is never deleted unasked."""

    def __init__(self, path: Path) -> None:
        InnospaceError.__init__(
            self,
            f"{path} 已存在且不是演示程序创建的数据库，未删除；换一个 --out 文件，或确需替换时加 "
            f"--overwrite / {path} exists and is not a demo database: nothing deleted; choose "
            "another --out, or add --overwrite to replace it",
            kind="file",
            key=str(path),
        )


def made_by_demo(path: Path) -> bool:
    """Whether ``path`` is a database an earlier ``innospace demo`` created (read-only: a file
    that is not a database, or not the demo's, is left exactly as it is)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("SELECT value FROM database_meta WHERE key = 'made_by'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None and row[0] == meta.DEMO


def _summary(app: App, demo: Demo, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"firms": len(demo.firms)}
    out.update(app.service.query(queries.activity_totals))
    out["refusals"] = dict(demo.refused)
    out["cohorts"] = demo.cohorts
    out["opportunity_entries"] = len(demo.entries)
    out["opportunity_list_hash"] = demo.list_hash
    out["seconds"] = round(seconds, 1)
    return out


def _print(s: dict[str, Any], path: Path) -> None:
    from lifecycle.table import STATE_LABELS
    from workflows.vocabulary import EXIT_TYPES, words

    print("innospace 演示 / demo — 温江区六个高品质科创空间 / six spaces of Wenjiang, 2022–2024")
    print(f"  企业 firms: {s['firms']}    用时 time: {s['seconds']} s")
    print("  各状态企业数 / firms per state:")
    for state, n in sorted(s["states"].items(), key=lambda kv: -kv[1]):
        print(f"    {STATE_LABELS[state][0]:<12} {state:<15} {n}")
    print(
        "  退出类型 / exits by type: "
        + ", ".join(f"{words(EXIT_TYPES, k)[0]} {k} {v}" for k, v in sorted(s["exits"].items()))
    )
    print(
        f"  审计事件 / audit events: {s['events']}    "
        f"审计链 / audit chain: {'完整 verified' if s['audit_ok'] else 'BROKEN'}"
    )
    print(
        f"  通知 / notices: 待发 {s['notices_queued']} queued, 已送达 {s['notices_delivered']} "
        f"delivered, 站内信 {s['inbox_items']} in inboxes"
    )
    for cohort in s["cohorts"]:
        grades = ", ".join(f"{g} {n}" for g, n in sorted(cohort["grades"].items()))
        print(
            f"  {cohort['period']} 年度考核 / review {cohort['space']}: "
            f"{cohort['cohort']} 家企业 / firm(s) — {grades}"
        )
    if s["refusals"]:
        print(
            "  被规则拒绝的操作 / refused by the rules: "
            + ", ".join(f"{k} {v}" for k, v in sorted(s["refusals"].items()))
        )
    if s["opportunity_list_hash"]:
        print(
            f"  第5期城市机会清单 / opportunity list 5: {s['opportunity_entries']} 条 / entries "
            f"（示例数据 / sample data）, SHA-256 {s['opportunity_list_hash'][:16]}…"
        )
    print(f"  数据库 / database: {path.resolve()}")
    print(f"  试试 / try: innospace --db {path} list --state active")
    print(f"             innospace --db {path} timeline 1")
    print(f"             innospace --db {path} audit verify")
    print(f"             innospace --db {path} opportunity list show 5")
    print(f"             innospace --db {path} report district --year 2023")
