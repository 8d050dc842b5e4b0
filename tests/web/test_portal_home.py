"""The firm portal's home: the firm's own tenancies, what is due, unread notices — and
nothing of another firm's."""

from __future__ import annotations

from api_support import World
from web_support import signed_in


def test_a_firm_user_sees_its_own_tenancy_in_chinese(world: World) -> None:
    page = signed_in(world, "firm").get("/portal")
    assert page.status_code == 200
    assert "本企业医疗科技" in page.text
    assert f'<td data-label="#">{world.own_tenancy}</td>' in page.text
    assert f'<td data-label="#">{world.other_tenancy}</td>' not in page.text
    assert "他企业生物科技" not in page.text
    assert "None" not in page.text and "applied</span>" not in page.text


def test_the_portal_is_for_firm_users_only(world: World) -> None:
    assert signed_in(world, "operator").get("/portal").status_code == 403


def test_a_firm_served_an_exit_notice_finds_its_answer_where_it_lands(world: World) -> None:
    """The 陈述申辩 form was reachable only from the inbox's 可办理事项: the home page
    listed the window's end under 待办期限 with no way to answer it."""
    from web_exit_support import make_resident, serve_notice

    serve_notice(world, make_resident(world))
    page = signed_in(world, "firm").get("/portal")
    assert f'href="/portal/answer/{world.own_tenancy}"' in page.text
    assert "提交陈述申辩" in page.text


def test_what_is_due_shows_the_last_day_as_every_other_page_does(world: World) -> None:
    """A deadline's instant is the midnight after its last day: the home page showed the
    answer window as ending "2025-01-10 00:00" while the answer page said 2025-01-09."""
    from sqlalchemy import select
    from web_exit_support import make_resident, serve_notice

    from db.tables import ALL_TABLES
    from workflows.queries_portal import REMINDERS

    serve_notice(world, make_resident(world))
    deadlines = ALL_TABLES.tables["deadlines"]
    with world.app.engine.connect() as conn:
        pending = conn.execute(
            select(deadlines.c.kind, deadlines.c.due_on).where(
                deadlines.c.tenancy_id == world.own_tenancy, deadlines.c.status == "pending"
            )
        ).all()
    days = {d.isoformat() for kind, d in pending if kind not in REMINDERS}
    page = signed_in(world, "firm").get("/portal").text
    assert days and all(f">{d}</td>" in page for d in days)
    assert " 00:00</td>" not in page
    # the engine's own reminders (their notices reach the inbox) are no days to meet
    assert {k for k, _ in pending} & set(REMINDERS), "the tenancy has a reminder pending"
    assert "租期届满提醒" not in page and "考核报送提醒" not in page


def test_the_answer_is_offered_until_it_is_sent_and_then_no_more(world: World) -> None:
    """The home page and the inbox's 可办理事项 kept "提交陈述申辩" after the defence was
    sent; and a firm asked for materials found no way to answer from either."""
    from web_exit_support import make_resident, serve_notice

    from workflows import commands as c

    firm = signed_in(world, "firm")
    world.do(c.RequestInfo(tenancy_id=world.own_tenancy, items="上年度审计报告"))
    answer = f'href="/portal/apply/{world.own_tenancy}/answer"'
    assert answer in firm.get("/portal").text and answer in firm.get("/portal/inbox").text
    world.do(c.Resubmit(tenancy_id=world.own_tenancy))
    assert answer not in firm.get("/portal").text
    assert "上年度审计报告" not in firm.get("/portal/apply").text  # asked once, answered
    serve_notice(world, make_resident(world))
    firm = signed_in(world, "firm")  # two weeks on: signed in again
    defence = f'href="/portal/answer/{world.own_tenancy}"'
    assert defence in firm.get("/portal").text and defence in firm.get("/portal/inbox").text
    world.do(c.LodgeObjection(tenancy_id=world.own_tenancy, grounds="事实有误，附证明", by="企业"))
    assert defence not in firm.get("/portal").text
    assert defence not in firm.get("/portal/inbox").text
