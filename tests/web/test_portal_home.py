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
