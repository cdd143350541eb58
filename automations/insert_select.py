"""The engine's set-based writes: one ``INSERT ... SELECT`` from a queryset compiled to SQL, so a
whole group's rows (step runs, enrolments, history, tags, subscriptions) are never built in
Python. Only our own fragments and the ORM's compiled query are interpolated; values are
parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Model, QuerySet


def insert_select(
    model: type[Model],
    columns: str,
    select: str,
    rows: QuerySet,
    select_params: Sequence[Any] = (),
    tail: str = "",
    tail_params: Sequence[Any] = (),
    returning: str | None = None,
) -> list[Any] | int:
    """``INSERT INTO <model> (columns) SELECT select FROM (rows) a tail``; ``select`` and ``tail``
    read the rows as ``a``. Returns the ``returning`` column of each inserted row, or without
    it how many rows were inserted; nothing when ``rows`` selects nothing by construction (an
    empty ``pk__in``). SQLite needs a ``WHERE`` before an ``ON CONFLICT`` in ``tail``."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:
        return [] if returning else 0
    table = connection.ops.quote_name(model._meta.db_table)
    statement = f"INSERT INTO {table} ({columns}) SELECT {select} FROM ({sql}) a {tail}"  # noqa: S608
    if returning:
        statement += f" RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(statement, [*select_params, *params, *tail_params])
        return [row[0] for row in cursor.fetchall()] if returning else cursor.rowcount
