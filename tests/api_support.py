"""What the HTTP tests share: two spaces, two firms, one account (and API token) per role,
and a TestClient over ``create_app``.

``MC3`` and its firm are "own" for the scoped accounts; ``HX`` and its firm are "other".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient

from entrypoints.bootstrap import App
from entrypoints.demo_data import good_profile, make_uscc
from entrypoints.http import create_app
from workflows import commands as c
from workflows import identity as i

SECRET = "test-secret-key-0123456789abcdef-0123456789"
PASSWORD = "correct horse battery staple"
ROLES = ("admin", "operator", "reviewer", "firm", "viewer")
START = datetime(2024, 3, 4, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday


@dataclass
class World:
    """What the HTTP tests act on: ids, codes and one bearer token per role."""

    app: App
    api: FastAPI
    own_space: str = "MC3"
    other_space: str = "HX"
    own_firm: str = ""
    other_firm: str = ""
    own_tenancy: int = 0
    other_tenancy: int = 0
    #: One violation and one exit case on each tenancy (rows written directly: the
    #: lifecycle that leads to them is not what the HTTP tests are about).
    own_violation: int = 0
    other_violation: int = 0
    own_exit_case: int = 0
    other_exit_case: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    def do(self, command: c.Command) -> Any:
        return self.app.service.handle(command)

    def client(self, role: str | None = None) -> TestClient:
        """A client with ``role``'s bearer token (no credentials when None)."""
        client = TestClient(self.api, raise_server_exceptions=False)
        if role is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client

    def version(self, tenancy_id: int) -> int:
        response = self.client("admin").get(f"/api/tenancies/{tenancy_id}")
        assert response.status_code == 200, response.text
        return int(response.headers["ETag"].strip('"'))


def build_world(app: App) -> World:
    api = create_app(app, secret_key=SECRET)
    w = World(app=app, api=api)
    rng = random.Random(16)
    for code, name in (("MC3", "成都医学城三医创新中心"), ("HX", "海峡中小企业孵化园")):
        w.do(c.CreateSpace(code=code, name=name))
        for n in range(3):
            w.do(c.AddUnit(space=code, code=f"U{n}", kind="office", area_m2=100))
    w.own_firm, w.other_firm = make_uscc(rng), make_uscc(rng)
    w.do(c.RegisterFirm(name="本企业医疗科技", uscc=w.own_firm, industry="pharma"))
    w.do(c.RegisterFirm(name="他企业生物科技", uscc=w.other_firm, industry="pharma"))
    profile = good_profile(START.date())
    w.own_tenancy = w.do(
        c.Apply(firm=w.own_firm, space="MC3", requested_area_m2=100, profile=profile)
    ).tenancy_id
    w.other_tenancy = w.do(
        c.Apply(firm=w.other_firm, space="HX", requested_area_m2=100, profile=profile)
    ).tenancy_id
    for role in ROLES:
        w.do(
            i.AddUser(
                username=role,
                display_name=f"{role} 测试",
                role=role,
                password=PASSWORD,
                space_codes=("MC3",) if role in ("operator", "viewer") else (),
                firm_uscc=w.own_firm if role == "firm" else None,
            )
        )
        w.tokens[role] = w.do(i.CreateToken(username=role, label="tests")).token
    w.do(i.AssignReviewer(tenancy_id=w.own_tenancy, username="reviewer"))
    w.own_violation, w.own_exit_case = add_cases(app, w.own_tenancy)
    w.other_violation, w.other_exit_case = add_cases(app, w.other_tenancy)
    return w


def add_cases(app: App, tenancy_id: int, *, status: str = "open") -> tuple[int, int]:
    """A violation and a forced-exit case on ``tenancy_id``; their ids."""
    from sqlmodel import Session

    from db.tables import ExitCase, Violation

    with Session(app.engine) as session:
        violation = Violation(
            tenancy_id=tenancy_id,
            code="unauthorized_sublet",
            facts="擅自转租 / sublet without consent",
            status=status,
            reported_at=START,
        )
        case = ExitCase(
            tenancy_id=tenancy_id,
            exit_type="forced",
            grounds="unauthorized_sublet",
            facts="擅自转租 / sublet without consent",
            status=status,
            created_at=START,
        )
        session.add(violation)
        session.add(case)
        session.commit()
        assert violation.id is not None and case.id is not None
        return violation.id, case.id
