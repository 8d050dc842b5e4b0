"""pydantic's errors said Chinese first, chosen by the error's type and its limits."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifecycle.validation_words import said


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff: int = Field(ge=0)
    area: float = Field(gt=0)
    name: str = Field(max_length=5)
    kind: str = Field(pattern=r"^(office|lab)$")
    on: date


def _said(**values: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        Form.model_validate(values)
    return {str(e["loc"][0]): said(e) for e in err.value.errors()}


def test_each_error_is_said_chinese_first_with_its_limit() -> None:
    got = _said(staff=-1, area=0, name="toolong", kind="shop", on="2024/03/04", extra=1)
    assert got["staff"].startswith("须不小于 0 / ")
    assert got["area"].startswith("须大于 0 / ")
    assert got["name"].startswith("至多 5 个字符 / ")
    assert got["kind"].startswith("格式不符合要求 / ")
    assert got["on"].startswith("须为日期，格式 YYYY-MM-DD / ")
    assert got["extra"].startswith("不认识的字段")
    assert all(" / " in v and v.split(" / ", 1)[1] for v in got.values())  # English kept


def test_missing_and_parsing() -> None:
    got = _said(staff="many", area=1, kind="lab")
    assert (
        got["staff"]
        == "须为整数 / Input should be a valid integer, unable to parse string as an integer"
    )
    assert got["name"].startswith("必填 / ") and got["on"].startswith("必填 / ")


def test_an_unknown_type_or_our_own_words_stay_as_they_are() -> None:
    assert said({"type": "something_new", "msg": "odd"}) == "odd"
    mine = {"type": "value_error", "msg": "Value error, 须为数字 / must be a number"}
    assert said(mine) == "须为数字 / must be a number"
