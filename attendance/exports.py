"""CSV and XLSX downloads of a report table: the same headers and rows for both formats.

Text that a spreadsheet would run as a formula (a name beginning with ``=``, ``+``, ``-`` or ``@``) is
neutralised: quoted with an apostrophe in CSV (OWASP "CSV injection"), stored as a string cell in XLSX.
"""

import csv
import io
import re

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _filename(stem: str, ext: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") + f".{ext}"


def csv_response(*, filename: str, headers: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(filename, "csv")}"'
    response.write("\ufeff")  # a BOM, so spreadsheet programs read the names as UTF-8
    writer = csv.writer(response)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_safe(v) for v in row])
    return response


def xlsx_response(*, filename: str, headers: list[str], rows: list[list], sheet: str = "Attendance") -> HttpResponse:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(worksheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    worksheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(worksheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, float):
                cell.number_format = "0.0"
            cells.append(cell)
        worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(filename, "xlsx")}"'
    return response


def table_response(*, fmt: str, filename: str, headers: list[str], rows: list[list], sheet: str = "Attendance"):
    if fmt == "xlsx":
        return xlsx_response(filename=filename, headers=headers, rows=rows, sheet=sheet)
    return csv_response(filename=filename, headers=headers, rows=rows)


def pct(value: float | None) -> float | None:
    """A percentage as exported: one decimal, empty when there is none."""
    return None if value is None else round(value, 1)
