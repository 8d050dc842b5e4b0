"""A list's page: sorted by a column the query names, in the asked direction, then cut."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from workflows.paging import Paging

ROWS = Table("rows", MetaData(), Column("id", Integer), Column("name", String))
SORTS = {"id": ROWS.c.id, "name": ROWS.c.name}


def _sql(paging: Paging) -> str:
    stmt = paging.apply(select(ROWS.c.id), SORTS, "id", ROWS.c.id)
    return " ".join(str(stmt.compile(compile_kwargs={"literal_binds": True})).split())


def test_a_page_is_ordered_by_the_sort_then_the_tie_and_cut_by_offset_and_limit() -> None:
    sql = _sql(Paging("name", descending=True, offset=100, limit=51))
    assert sql.endswith("ORDER BY rows.name DESC, rows.id LIMIT 51 OFFSET 100")


def test_a_sort_the_query_does_not_name_falls_back_to_its_default() -> None:
    assert "ORDER BY rows.id ASC, rows.id" in _sql(Paging("password"))


def test_a_list_sorted_in_python_is_cut_to_the_same_page() -> None:
    assert Paging("id", offset=2, limit=3).cut(list(range(10))) == [2, 3, 4]
    assert Paging("id", offset=9, limit=3).cut(list(range(10))) == [9]
