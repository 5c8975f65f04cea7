"""What every table module uses: the plain indexes made by raw-SQL migrations."""

from dataclasses import dataclass

from piccolo.columns import Column
from piccolo.table import Table


@dataclass(frozen=True)
class Index:
    """A plain index created by a raw-SQL migration."""

    table: str
    name: str
    columns: tuple[str, ...]


INDEXES: list[Index] = []


def index(table: type[Table], name: str, *columns: Column) -> None:
    INDEXES.append(
        Index(table._meta.tablename, name, tuple(c._meta.db_column_name for c in columns))
    )
