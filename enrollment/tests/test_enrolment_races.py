"""Enrolments at the same moment through every path: a subject never goes over its capacity.

Real threads on real PostgreSQL, each with its own connection, released together by a barrier. SQLite
serialises writers (a second writer fails with "database is locked" rather than waiting), so it cannot run
them.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.tests.factories import StudentFactory
from enrollment import imports, services
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.tests.factories import SubjectFactory
from utils.csvfiles import RowsRefused
from utils.tests.concurrency import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: a race needs PostgreSQL"),
]

RUNS = 4




def active(subject) -> int:
    return Enrollment.objects.filter(subject=subject, status=EnrollmentStatus.ACTIVE).count()


@pytest.mark.parametrize("run", range(RUNS))
def test_imports_at_once_never_fill_a_subject_past_its_capacity(run, section, term, subject, admin_user):
    capacity, importers = 3, 6
    subject.capacity = capacity
    subject.save()
    students = [StudentFactory(section=section, term=term, roll_number=f"R{run}X{k}") for k in range(importers)]

    def importing(student):
        content = f"roll_number,subject\n{student.roll_number},{subject.code}\n"
        return lambda: imports.enrollments_import_csv(term=term, content=content, actor=admin_user, apply=True)

    results = at_once(*[importing(s) for s in students])

    refused = [r for r in results if isinstance(r, RowsRefused)]
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, RowsRefused)], results
    assert active(subject) == capacity
    assert sum(1 for r in results if not isinstance(r, Exception) and r.applied) == capacity
    # Each refused import says which row and why.
    assert len(refused) == importers - capacity
    for exc in refused:
        assert exc.messages == ["1 rows are refused; fix them and check again. Nothing was imported."]
        [row] = exc.report.rejected
        full = f"{subject.code} is full ({capacity} of {capacity} places). Ask the office to raise its capacity."
        assert row.errors == [full]


@pytest.mark.parametrize("run", range(RUNS))
def test_every_enrolling_path_at_once_shares_the_places(run, section, term, subject, admin_user):
    """An import of two subjects, single enrolments and a whole section at once: each subject holds."""
    other = SubjectFactory(programme=subject.programme, year=subject.year, code=f"CS29{run}", capacity=2)
    subject.capacity = 2
    subject.save()
    students = [StudentFactory(section=section, term=term, roll_number=f"P{run}X{k}") for k in range(5)]
    # Listed in the order opposite to the pk order: the locks are still taken by pk, so no deadlock.
    content = "roll_number,subject\n" + "".join(
        f"{s.roll_number},{code}\n" for s in students[:2] for code in (other.code, subject.code)
    )
    calls = [lambda: imports.enrollments_import_csv(term=term, content=content, actor=admin_user, apply=True)]
    calls += [
        (lambda s=s, subj=subj: services.enrollment_create(student=s, subject=subj, term=term, actor=admin_user))
        for s in students[2:4]
        for subj in (subject, other)
    ]
    calls.append(lambda: services.section_enrol(section=section, term=term, actor=admin_user))

    results = at_once(*calls)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, ValidationError)]
    assert unexpected == []  # no deadlock, no integrity error
    assert active(subject) <= 2 and active(other) <= 2
    assert active(subject) == 2 and active(other) == 2  # five students wanted each: every place is taken
    for r in results:  # every refusal is for a full subject, and a refused file names its rows
        if isinstance(r, RowsRefused):
            assert r.report.rejected and all("is full" in " ".join(row.errors) for row in r.report.rejected), r
        elif isinstance(r, ValidationError):
            assert "is full" in " ".join(r.messages), r
