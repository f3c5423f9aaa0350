"""Reading uploaded CSV files: what the csv module cannot read is a refusal naming the line, never a server error."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Invitation
from utils.csvfiles import read_rows

COLUMNS = ["roll_number", "subject"]
TOO_LONG = (
    "Line 3 cannot be read: a cell is longer than 131,072 characters, far more than any column holds. "
    "Nothing was imported; check the file and upload it again."
)


def test_a_cell_past_the_csv_modules_limit_is_refused_with_its_line():
    # The csv module raised csv.Error ("field larger than field limit"), a 500 on every import page.
    content = "roll_number,subject\nCS2A001,CS201\n" + "x" * 131_073 + ",CS201\n"
    with pytest.raises(ValidationError) as refused:
        read_rows(content, COLUMNS)
    assert refused.value.messages == [TOO_LONG]


def test_old_mac_line_ends_are_rows():
    # A lone \r ended no line: the csv module raised "new-line character seen in unquoted field", a 500.
    rows = read_rows("roll_number,subject\rCS2A001,CS201\rCS2A002,CS202\r", COLUMNS)
    assert [(row.line, row.values, row.errors) for row in rows] == [
        (2, {"roll_number": "CS2A001", "subject": "CS201"}, []),
        (3, {"roll_number": "CS2A002", "subject": "CS202"}, []),
    ]


def test_windows_line_ends_and_a_quoted_line_break_read_as_before():
    rows = read_rows('roll_number,subject\r\nCS2A001,CS201\r\n"CS2A\n002",CS202\r\n', COLUMNS)
    assert [(row.line, row.values["subject"]) for row in rows] == [(2, "CS201"), (3, "CS202")]  # one cell, one row
    assert rows[0].errors == [] and "control character" in rows[1].errors[0]  # a line break is not a roll number


@pytest.mark.django_db
def test_the_import_page_shows_the_refusal_and_imports_nothing(client, admin_user, section):
    client.force_login(admin_user)
    content = "full_name,email,roll_number,section\nNina,nina@example.test,CS2A009,CS 2-A\n"
    content += "x" * 200_000 + ",a@example.test,CS2A010,CS 2-A\n"
    upload = SimpleUploadedFile("students.csv", content.encode())
    response = client.post(reverse("enrollment:import_students"), {"file": upload, "confirm": "on"})
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert not Invitation.objects.exists()
