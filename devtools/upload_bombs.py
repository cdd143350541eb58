"""Hostile import files, generated on demand, and a probe that opens one in a fresh process.

Each bomb is a few KB to a few hundred KB on disk and claims far more once read:

- ``huge_cell_xlsx``: one inline-string cell of ``megabytes`` MB (deflate packs it ~1000:1);
- ``dimension_xlsx``: two real rows in a sheet declaring ``A1:XFD1048576`` (16,384 columns x 1,048,576 rows);
- ``bad_rows_xlsx``: ``rows`` rows, every one the same invalid address (a shared string);
- ``wide_csv``: a header of ``columns`` columns.

    python -m devtools.upload_bombs probe PATH
    python -m devtools.upload_bombs job PATH

``probe`` opens PATH the way the mapping page does (header, first rows, row count) and
prints one JSON document: ``{"outcome", "columns", "rows", "seconds", "peak_mb"}``, where
``outcome`` is "ok" or the one-line reason the file was refused and ``peak_mb`` the process's
peak resident memory. ``job`` runs PATH as an import job, as the worker does, against the
configured database. Tests and ``bench/import_bombs.py`` run them as subprocesses.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<Relationships xmlns="{PACKAGE_REL_NS}"><Relationship Id="rId1" '
    f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<Relationships xmlns="{PACKAGE_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def _write_xlsx(path: Path, sheet: Iterable[str], strings: list[str], dimension: str = "") -> Path:
    """A minimal workbook; the sheet XML is streamed into the archive piece by piece."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}" uniqueCount="{len(strings)}">{items}</sst>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as stream:
            head = f'<worksheet xmlns="{MAIN_NS}">' + (f'<dimension ref="{dimension}"/>' if dimension else "")
            stream.write((head + "<sheetData>").encode())
            for piece in sheet:
                stream.write(piece.encode())
            stream.write(b"</sheetData></worksheet>")
    return path


def _shared_row(number: int, index: int) -> str:
    return f'<row r="{number}"><c r="A{number}" t="s"><v>{index}</v></c></row>'


def huge_cell_xlsx(path: Path, megabytes: int = 400) -> Path:
    def sheet() -> Iterable[str]:
        yield _shared_row(1, 0)
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        yield from itertools.repeat("a" * (1024 * 1024), megabytes)
        yield "</t></is></c></row>"

    return _write_xlsx(path, sheet(), ["email"])


def dimension_xlsx(path: Path) -> Path:
    return _write_xlsx(path, [_shared_row(1, 0), _shared_row(2, 1)], ["email", "ann@example.com"], "A1:XFD1048576")


def bad_rows_xlsx(path: Path, rows: int = 2_000_000) -> Path:
    # Rows without their optional r="" attribute are identical, so the file deflates to almost nothing.
    batch = '<row><c t="s"><v>1</v></c></row>' * 10_000

    def sheet() -> Iterable[str]:
        yield _shared_row(1, 0)
        for start in range(0, rows, 10_000):
            yield batch if start + 10_000 <= rows else batch[: len(batch) // 10_000 * (rows - start)]

    return _write_xlsx(path, sheet(), ["email", "not-an-address"])


def wide_csv(path: Path, columns: int = 10_000) -> Path:
    header = ",".join(["email", *(f"c{n}" for n in range(1, columns))])
    path.write_text(f"{header}\nann@example.com{',' * (columns - 1)}\n", encoding="utf-8")
    return path


def probe(path: Path) -> dict:
    """Open the file as the mapping page and the import job do; what happened, how long, how much memory."""
    from contacts import import_read

    started = time.monotonic()
    result = {"outcome": "ok", "columns": 0, "rows": 0}
    try:
        table = import_read.open_table(path)
        table.rows.close()
        result["columns"] = len(table.header)
        for _ in itertools.islice(import_read.open_table(path).rows, import_read.PREVIEW_ROWS):
            pass
        result["rows"] = import_read.count_rows(path)
    except import_read.ImportFileError as error:
        result["outcome"] = str(error)
    result["seconds"] = round(time.monotonic() - started, 2)
    result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def run_as_job(path: Path) -> dict:
    """Upload the file as an import job and run it the way the worker does (count, import, report)."""
    from django.core.files import File

    from contacts import importer
    from contacts.models import ImportJob

    job = ImportJob(original_name=path.name, check_dns=False, status=ImportJob.Status.QUEUED)
    with path.open("rb") as handle:
        job.file.save(path.name, File(handle), save=False)
    job.save()
    started = time.monotonic()
    importer.run_job(job.pk)
    job.refresh_from_db()
    return {
        "outcome": job.failure or job.status,
        "rows": job.rows_done,
        "errors_kept": len(job.errors),
        "error_count": job.error_count,
        "seconds": round(time.monotonic() - started, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    commands = {"probe": probe, "job": run_as_job}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit("usage: python -m devtools.upload_bombs probe|job PATH")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(json.dumps(commands[sys.argv[1]](Path(sys.argv[2]))))
