"""Insert many rows of a model with one prepared statement, for the importers.

bulk_create compiles every value of every object in Python (about 0.3 ms per 45-column
contact, and SQLite's 999-parameter limit splits it into 22-row statements); an import
writes 100k rows a minute only with one statement prepared once and run by the driver's
``executemany``. Values are given already adapted for the database (see db_datetime, db_json).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection, models


def db_datetime(moment: datetime) -> Any:
    """A datetime as this database's driver takes it."""
    return connection.ops.adapt_datetimefield_value(moment)


def db_json(model: type[models.Model], field: str, value: Any) -> Any:
    """A value of ``model.field`` (a JSONField, say) as this database's driver takes it."""
    return model._meta.get_field(field).get_db_prep_save(value, connection)


class RowInserter:
    """INSERT rows of ``model`` given as tuples in the order of ``given`` (field names).

    Columns the caller does not give get their field's default, so fields added by other
    apps are filled. With ``conflict`` (a unique field), an existing row gets the ``update``
    fields of the new one instead (an upsert, on SQLite and PostgreSQL alike).
    """

    def __init__(
        self, model: type[models.Model], given: list[str], *, conflict: str = "", update: Iterable[str] = ()
    ) -> None:
        fields = {field.name: field for field in model._meta.concrete_fields if not field.primary_key}
        others = [field for name, field in fields.items() if name not in given]
        self.defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in others)
        quote = connection.ops.quote_name
        columns = [quote(fields[name].column) for name in given] + [quote(field.column) for field in others]
        self.sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        if conflict:
            assignments = ", ".join(
                f"{quote(fields[name].column)} = excluded.{quote(fields[name].column)}" for name in update
            )
            self.sql += f" ON CONFLICT ({quote(fields[conflict].column)}) DO UPDATE SET {assignments}"

    def run(self, rows: list[tuple]) -> None:
        if not rows:
            return
        params = [row + self.defaults for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.executemany(self.sql, params)
                return
            # Django's PostgreSQL cursors bind client-side, quoting every value in Python; a
            # server-side-binding cursor on the same connection (and transaction) sends them as parameters.
            with psycopg.Cursor(cursor.connection) as raw:
                raw.executemany(self.sql, params)
