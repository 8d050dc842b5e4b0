"""Violations and exit cases as resources: cursor-paginated lists and one exit case, each
narrowed to the account's scope (``policy``: staff and viewers their spaces, a firm its own
firm; a reviewer none)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.http.deps import Ctx, CtxDep
from entrypoints.http.routes_tenancies import Cursor, Limit, SpaceCode
from lifecycle.errors import InvalidInput
from workflows import queries_http
from workflows.paging import Keyset, Reach

router = APIRouter(prefix="/api", tags=["violations and exit cases 违规与退出"])

ExitCaseId = Annotated[int, Path(ge=1, le=2**63 - 1, description="退出案件编号 / exit case id")]
TenancyFilter = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="租户编号 / tenancy id")
]


Status = Annotated[str | None, Query(max_length=16, description="状态 / status")]


def _checked(status: str | None, allowed: tuple[str, ...]) -> str | None:
    if status is not None and status not in allowed:
        raise InvalidInput(
            "status",
            f"须为 {'、'.join(allowed)} 之一 / must be one of {', '.join(allowed)}",
            status,
        )
    return status


class ViolationPage(BaseModel):
    model_config = ConfigDict(extra="allow")
    items: list[dict[str, Any]]
    next: str | None = Field(description="下一页的 cursor / the next page's cursor")


class ExitCasePage(ViolationPage):
    pass


def _reach(ctx: Ctx) -> Reach:
    """What a list is narrowed to: the spaces of an operator or viewer, a firm's own firm."""
    p = ctx.principal
    return Reach(
        space_ids=None if p.role in ("admin", "firm") else p.space_ids,
        firm_id=(p.firm_id if p.firm_id is not None else -1) if p.role == "firm" else None,
    )


@router.get(
    "/violations",
    name="violations_list",
    response_model=ViolationPage,
    summary="违规记录 / violations",
    description="按编号分页（cursor），可按空间、租户和状态筛选；只列出本账号可见的。 / "
    "Violations by id, a page at a time (cursor), filtered by space, tenancy and status; "
    "only those this account may see.",
)
def list_violations(
    ctx: CtxDep,
    space: SpaceCode = None,
    tenancy: TenancyFilter = None,
    status: Status = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    page: dict[str, Any] = ctx.query(
        queries_http.violation_page,
        page=Keyset(int(cursor) if cursor else 0, limit),
        reach=_reach(ctx),
        space=space,
        tenancy_id=tenancy,
        status=_checked(status, queries_http.VIOLATION_STATUSES),
    )
    return page


@router.get(
    "/exit-cases",
    name="exit_cases_list",
    response_model=ExitCasePage,
    summary="退出案件 / exit cases",
    description="按编号分页（cursor），可按空间和状态筛选；只列出本账号可见的。 / Exit cases "
    "by id, a page at a time (cursor), filtered by space and status; only those this "
    "account may see.",
)
def list_exit_cases(
    ctx: CtxDep,
    space: SpaceCode = None,
    status: Status = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    page: dict[str, Any] = ctx.query(
        queries_http.exit_case_page,
        page=Keyset(int(cursor) if cursor else 0, limit),
        reach=_reach(ctx),
        space=space,
        status=_checked(status, queries_http.EXIT_CASE_STATUSES),
    )
    return page


@router.get(
    "/exit-cases/{exit_case_id}",
    name="exit_case_show",
    response_model=dict[str, Any],
    summary="退出案件详情 / one exit case",
    description="退出案件详情；本账号范围外的案件返回 404。 / One exit case in full; one "
    "outside this account's scope is 404, as if it did not exist.",
)
def show_exit_case(ctx: CtxDep, exit_case_id: ExitCaseId) -> dict[str, Any]:
    case: dict[str, Any] = ctx.query(queries_http.exit_case, exit_case_id=exit_case_id)
    return case
