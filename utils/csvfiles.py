"""Reading uploaded CSV files the same way everywhere: exact header, UTF-8, bounded size, line numbers."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from utils.text import text_problems, without_control_characters

MAX_ROWS = 5000


@dataclass
class Row:
    line: int
    values: dict
    errors: list[str] = field(default_factory=list)
    result: object = None


@dataclass
class Report:
    rows: list[Row]
    applied: bool = False

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if r.errors]


def read_rows(content: str, columns: list[str], *, help_text: str = "", limits: dict | None = None) -> list[Row]:
    """The rows under an exact header. Each cell is checked against `limits` (column → the max_length of
    the model field it will be stored in) and for control characters; a failing row carries the reason,
    naming the column, and its cell keeps only what is safe to look up (the row is refused anyway)."""
    limits = limits or {}
    # newline="": line ends of every kind (\n, \r\n, and the lone \r of old spreadsheets) end a row, and a
    # quoted cell keeps its own line breaks, as the csv module asks.
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff"), newline=""))
    try:
        header = [c.strip().lower() for c in (reader.fieldnames or [])]
        if header != columns:
            raise ValidationError(f"The first line must name the columns {', '.join(columns)}. {help_text}".strip())
        rows = []
        for line, raw in enumerate(reader, start=2):
            row = Row(line=line, values={k.strip().lower(): (v or "").strip() for k, v in raw.items() if k})
            for column, value in row.values.items():
                problems = text_problems(value, label=f"The column '{column}'", max_length=limits.get(column))
                if problems:
                    row.errors += problems
                    row.values[column] = without_control_characters(value)
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise ValidationError(f"A file can hold at most {MAX_ROWS:,} rows; split it.")
    except csv.Error as exc:  # a cell past the csv module's limit (131,072 characters), or what else it refuses
        raise ValidationError(_unreadable(reader.reader.line_num, exc)) from None
    if not rows:
        raise ValidationError("The file has no rows under its header.")
    return rows


def _unreadable(line: int, exc: csv.Error) -> str:
    """Why the csv module gave up on a line, in words for the person who saved the file."""
    if "field larger than field limit" in str(exc):
        reason = f"a cell is longer than {csv.field_size_limit():,} characters, far more than any column holds"
    else:
        reason = "it is not valid CSV"
    return f"Line {line} cannot be read: {reason}. Nothing was imported; check the file and upload it again."


class RowsRefused(ValidationError):
    """An import refused because of its rows; carries the report so the page can still list the reasons."""

    def __init__(self, report: Report):
        super().__init__(f"{len(report.rejected)} rows are refused; fix them and check again. Nothing was imported.")
        self.report = report


def refuse_if_rejected(report: Report) -> None:
    if report.rejected:
        raise RowsRefused(report)


def csv_import_page(
    request, *, title: str, columns: list[str], run, success, done_url: str, help_text: str = "", form=None
):
    """The shared upload page: check the file (dry run), import only when confirmed and clean.

    `run(content, apply)` returns a Report or raises ValidationError; `success(report)` is the message
    shown after a real import, before going to `done_url`. `form` replaces the plain upload form when an
    import needs more fields (a subclass of CsvUploadForm, bound by the caller).
    """
    from django.contrib import messages
    from django.shortcuts import redirect, render

    from utils.forms import CsvUploadForm, attach_errors

    if form is None:
        form = CsvUploadForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = run(form.content, form.cleaned_data["confirm"])
        except RowsRefused as exc:
            report = exc.report  # the table of reasons says it all; the summary is its heading
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if report.applied:
                messages.success(request, success(report))
                return redirect(done_url)
    context = {
        "form": form,
        "report": report,
        "import_refused": bool(report and form.cleaned_data.get("confirm")),
        "title": title,
        "columns": columns,
        "help": help_text,
    }
    return render(request, "csv_import.html", context)
