"""Rows written in bulk for the world builders: one INSERT per chunk, the ORM's defaults
for the columns a row leaves out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.database import insert_rows


async def insert(table, rows: Sequence[Mapping], returning: tuple[str, ...] = ("id",)) -> list:
    """`rows` ({column: value}; a column a row leaves out gets the ORM's default) in one
    INSERT per chunk. Returns the ids in the order of `rows` when
    `returning` is the id only, else the returned rows."""
    if not rows:
        return []
    columns = [c for c in table._meta.columns if not c._meta.primary_key]
    # The ORM's defaults, as an insert of one object would write them.
    blank = table(_ignore_missing=True)
    defaults = {c._meta.name: getattr(blank, c._meta.name) for c in columns}
    found = await insert_rows(
        table,
        tuple(c._meta.db_column_name for c in columns),
        [tuple(row.get(c._meta.name, defaults[c._meta.name]) for c in columns) for row in rows],
        returning=returning,
    )
    if returning == ("id",):
        return sorted(row["id"] for row in found)  # ids follow the VALUES order
    return found


async def one(table, **values) -> int:
    rows = await table.insert(table(**values)).returning(table.id)
    return rows[0]["id"]
