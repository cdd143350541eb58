"""Report tables as CSV or XLSX downloads, every cell made formula-safe by the contacts exporter."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

from contacts.exporter import neutralise
from reports.tables import Table

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_lines(table: Table) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    for row in table.plain():
        writer.writerow([neutralise(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def download(table: Table, fmt: str, stem: str) -> HttpResponse:
    """The table as ``stem-<key>.csv`` (streamed) or ``.xlsx``."""
    name = f"{stem}-{table.key}.{fmt}"
    if fmt == "csv":
        response: HttpResponse = StreamingHttpResponse(_csv_lines(table), content_type="text/csv; charset=utf-8")
    else:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(table.key[:31])
        for row in table.plain():
            sheet.append([neutralise(value) for value in row])
        content = io.BytesIO()
        workbook.save(content)
        response = HttpResponse(content.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
