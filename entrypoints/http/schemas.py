"""Response shapes the OpenAPI document names (more members may follow: ``extra="allow"``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TenancySummary(BaseModel):
    """一个租户（一次入驻） / one tenancy: one stay of one firm in one space."""

    model_config = ConfigDict(extra="allow")
    id: int
    firm: str
    uscc: str
    space: str
    state: str
    state_zh: str
    version: int = Field(description="版本号，即 ETag / the version, its ETag")
    track: str
    term_start: str | None
    term_end: str | None
    score: float | None
    rulebook_version: str | None


class TenancyPage(BaseModel):
    items: list[TenancySummary]
    next: str | None = Field(description="下一页的 cursor / the next page's cursor")


class StepOut(BaseModel):
    """一次操作的结果 / what one action did to a tenancy (its new version is the ETag)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    tenancy_id: int
    trigger: str
    from_state: str | None = Field(alias="from")
    to: str
    version: int


class Count(BaseModel):
    """处理的条数 / how many rows the command changed."""

    count: int
