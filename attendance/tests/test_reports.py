"""Attendance reports: numbers against hand-computed fixtures, the trend, filters, exports, access, query budgets.

The ``school`` fixture (all in September 2026 unless said otherwise; P present, A absent, L late, E excused):

CS 2-A (``section``): Asha (``student``), Ben, Chen
  CS201 (``subject``), taught by ``teacher_user``:
      Mon 7    Wed 9    Mon 14    Wed 16   Mon 21
  Asha  P        A      L (10')     E        A      → 1P 2A 1L 1E: (1+1)/(1+1+2) = 50.0 %
  Ben   P        P        P         P        P      → 100.0 %
  Chen  A        P        A         P        A      → 2P 3A: 2/5 = 40.0 %
  CS202 (``algorithms``), taught by ``t2``; the Thu 17 session covered by ``teacher_user``:
      Wed 9 (10:00)  Tue 15  Thu 17  Tue 22 (late 5')
  Asha  P             P       P       L             → 100.0 %
  Asha in the whole month: 9 held, 4P 2A 2L 1E, 15 minutes late: 6/8 = 75.0 % (exactly on the line)
  Asha outside September: Mon 31 Aug A, Mon 5 Oct A (CS201)
CS 2-B: Dev, CS201 taught by t2: Mon 7 P, Wed 9 A                   → 50.0 %
CS 1-A: Eve, CS101 taught by t2: Mon 7 P, Tue 8 P                   → 100.0 %
MA 1-A: Fay, MA101 taught by t2: Wed 9 A (9:00), P (10:00); Thu 10 A, A → 1P 3A: 25.0 %
Another institute: Zed, absent on Wed 9.
"""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.tests.factories import GuardianLinkFactory, StudentFactory, TeacherFactory
from attendance import reports
from attendance.charts import trend_chart
from attendance.models import AttendanceRecord, ClassSession
from enrollment.models import Enrollment
from enrollment.tests.factories import ClassSectionFactory, ProgrammeFactory, SubjectFactory, TermFactory
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

pytestmark = pytest.mark.django_db

SEP = reports.Period(datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
SEP_QUERY = {"date_from": "2026-09-01", "date_to": "2026-09-30"}
D = datetime.date


def make_session(*, term, section, subject, teacher, date, slot, cover=None):
    return ClassSession.objects.create(
        institute=term.institute,
        term=term,
        section=section,
        subject=subject,
        teacher=teacher,
        date=date,
        slot=slot,
        cover_teacher=cover,
    )


def mark(session, student, status, minutes_late=0):
    AttendanceRecord.objects.create(
        institute=session.institute, session=session, student=student, status=status, minutes_late=minutes_late
    )


@pytest.fixture
def school(institute, programme, section, term, subject, student, teacher_user, guardian_link, other_admin):
    slot1 = TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50))
    slot2 = TimeSlotFactory(institute=institute, order=2, starts_at=datetime.time(10), ends_at=datetime.time(10, 50))
    me = teacher_user.teacher_profile
    t2 = TeacherFactory(institute=institute, user__full_name="Tara Two", user__username="t2")
    algorithms = SubjectFactory(programme=programme, year=2, code="CS202", name="Algorithms")
    programming = SubjectFactory(programme=programme, year=1, code="CS101", name="Programming")
    maths = ProgrammeFactory(institute=institute, code="MA", name="Mathematics")
    calculus = SubjectFactory(programme=maths, year=1, code="MA101", name="Calculus")
    cs2b = ClassSectionFactory(programme=programme, year=2, name="B")
    cs1a = ClassSectionFactory(programme=programme, year=1, name="A")
    ma1a = ClassSectionFactory(programme=maths, year=1, name="A")

    def pupil(sec, roll, name):
        return StudentFactory(section=sec, term=term, roll_number=roll, user__full_name=name)

    asha = student
    ben, chen = pupil(section, "CS2A002", "Ben Okafor"), pupil(section, "CS2A003", "Chen Li")
    dev, eve, fay = (
        pupil(cs2b, "CS2B001", "Dev Patel"),
        pupil(cs1a, "CS1A001", "Eve Martin"),
        pupil(ma1a, "MA1A001", "Fay Wong"),
    )
    Enrollment.objects.create(institute=institute, student=asha, subject=subject, term=term)
    Enrollment.objects.create(institute=institute, student=asha, subject=algorithms, term=term)

    # CS201 for CS 2-A, by teacher_user
    plan = {
        D(2026, 9, 7): ("present", "present", "absent"),
        D(2026, 9, 9): ("absent", "present", "present"),
        D(2026, 9, 14): (("late", 10), "present", "absent"),
        D(2026, 9, 16): ("excused", "present", "present"),
        D(2026, 9, 21): ("absent", "present", "absent"),
    }
    for day, statuses in plan.items():
        s = make_session(term=term, section=section, subject=subject, teacher=me, date=day, slot=slot1)
        for who, status in zip((asha, ben, chen), statuses, strict=True):
            status, late = status if isinstance(status, tuple) else (status, 0)
            mark(s, who, status, late)
    for day in (D(2026, 8, 31), D(2026, 10, 5)):  # outside September
        mark(
            make_session(term=term, section=section, subject=subject, teacher=me, date=day, slot=slot1), asha, "absent"
        )
    # CS202 for CS 2-A, by t2; teacher_user covers Thu 17
    for day, slot, status, cover in (
        (D(2026, 9, 9), slot2, ("present", 0), None),
        (D(2026, 9, 15), slot1, ("present", 0), None),
        (D(2026, 9, 17), slot1, ("present", 0), me),
        (D(2026, 9, 22), slot1, ("late", 5), None),
    ):
        s = make_session(term=term, section=section, subject=algorithms, teacher=t2, date=day, slot=slot, cover=cover)
        mark(s, asha, *status)
    for day, status in ((D(2026, 9, 7), "present"), (D(2026, 9, 9), "absent")):
        mark(make_session(term=term, section=cs2b, subject=subject, teacher=t2, date=day, slot=slot1), dev, status)
    for day in (D(2026, 9, 7), D(2026, 9, 8)):
        mark(
            make_session(term=term, section=cs1a, subject=programming, teacher=t2, date=day, slot=slot1), eve, "present"
        )
    for day, slot, status in (
        (D(2026, 9, 9), slot1, "absent"),
        (D(2026, 9, 9), slot2, "present"),
        (D(2026, 9, 10), slot1, "absent"),
        (D(2026, 9, 10), slot2, "absent"),
    ):
        mark(make_session(term=term, section=ma1a, subject=calculus, teacher=t2, date=day, slot=slot), fay, status)
    # teacher_user also has a timetable entry for CS 1-A CS101 (no session of theirs yet)
    TimetableEntryFactory(
        term=term, section=cs1a, subject=programming, teacher=me, slot=slot2, room=RoomFactory(institute=institute)
    )
    # another institute
    other = other_admin.institute
    o_programme = ProgrammeFactory(institute=other, code="OX", name="Other")
    o_section = ClassSectionFactory(programme=o_programme, year=1, name="A")
    o_term = TermFactory(institute=other)
    o_subject = SubjectFactory(programme=o_programme, year=1, code="OX101", name="Other subject")
    zed = StudentFactory(section=o_section, term=o_term, roll_number="OX1", user__full_name="Zed Other")
    o_slot = TimeSlotFactory(institute=other, order=1)
    o_teacher = TeacherFactory(institute=other)
    o_session = make_session(
        term=o_term, section=o_section, subject=o_subject, teacher=o_teacher, date=D(2026, 9, 9), slot=o_slot
    )
    mark(o_session, zed, "absent")
    return {
        "asha": asha,
        "ben": ben,
        "chen": chen,
        "dev": dev,
        "eve": eve,
        "fay": fay,
        "zed": zed,
        "t2": t2.user,
        "teacher": teacher_user,
        "guardian": guardian_link.guardian,
        "algorithms": algorithms,
        "programming": programming,
        "cs2b": cs2b,
        "cs1a": cs1a,
        "o_section": o_section,
        "o_subject": o_subject,
    }


def numbers(row):
    return {k: row[k] for k in ("held", "present", "absent", "late", "excused", "minutes_late")}, (
        None if row["percent"] is None else round(row["percent"], 1)
    )


# ---------------------------------------------------------------- student numbers


def test_student_summary_per_subject_and_total(school, subject):
    report = reports.student_summary(student=school["asha"], period=SEP)
    by_code = {r["code"]: r for r in report.rows}
    assert list(by_code) == ["CS201", "CS202"]
    assert numbers(by_code["CS201"]) == (
        {"held": 5, "present": 1, "absent": 2, "late": 1, "excused": 1, "minutes_late": 10},
        50.0,
    )
    assert by_code["CS201"]["below"] is True and by_code["CS201"]["name"] == "Data Structures"
    assert numbers(by_code["CS202"]) == (
        {"held": 4, "present": 3, "absent": 0, "late": 1, "excused": 0, "minutes_late": 5},
        100.0,
    )
    assert numbers(report.total) == (
        {"held": 9, "present": 4, "absent": 2, "late": 2, "excused": 1, "minutes_late": 15},
        75.0,
    )
    assert report.below is False  # exactly on the 75 % line is not under it


def test_excused_is_left_out_of_the_percentage(school, subject):
    AttendanceRecord.objects.filter(student=school["asha"], session__subject=subject).update(
        status="excused", minutes_late=0
    )
    report = reports.student_summary(student=school["asha"], period=SEP, subject_id=subject.pk)
    assert numbers(report.total) == (
        {"held": 5, "present": 0, "absent": 0, "late": 0, "excused": 5, "minutes_late": 0},
        None,
    )
    assert report.below is False


def test_subject_filter_and_period(school):
    report = reports.student_summary(student=school["asha"], period=SEP, subject_id=school["algorithms"].pk)
    assert [r["code"] for r in report.rows] == ["CS202"] and numbers(report.total)[1] == 100.0
    wider = reports.student_summary(student=school["asha"], period=reports.Period(D(2026, 8, 1), D(2026, 10, 31)))
    assert numbers(wider.total) == (
        {"held": 11, "present": 4, "absent": 4, "late": 2, "excused": 1, "minutes_late": 15},
        60.0,
    )


def test_weekly_trend_buckets_and_empty_weeks(school):
    weeks = reports.student_weekly_trend(student=school["asha"], period=SEP)
    assert [(w["week"], w["held"], round(w["percent"], 1)) for w in weeks] == [
        (D(2026, 9, 7), 3, 66.7),  # A: P, A; B: P
        (D(2026, 9, 14), 4, 100.0),  # A: L, E; B: P, P
        (D(2026, 9, 21), 2, 50.0),  # A: A; B: L
    ]
    wide = reports.student_weekly_trend(student=school["asha"], period=reports.Period(D(2026, 8, 1), D(2026, 10, 31)))
    assert [(w["week"], w["held"], w["percent"]) for w in wide][::4] == [
        (D(2026, 8, 31), 1, 0.0),
        (D(2026, 9, 28), 0, None),  # no class that week: kept, so the chart's time axis is not squeezed
    ]
    assert [w["week"] for w in wide] == [D(2026, 8, 31) + datetime.timedelta(weeks=k) for k in range(6)]


def test_trend_chart_geometry():
    weeks = reports.fill_weeks(
        [
            {"week": D(2026, 9, 7), "held": 2, "present": 2, "late": 0, "absent": 0, "excused": 0, "percent": 100.0},
            {"week": D(2026, 9, 21), "held": 2, "present": 1, "late": 0, "absent": 1, "excused": 0, "percent": 50.0},
        ]
    )
    chart = trend_chart(weeks=weeks, threshold=75, name="Asha")
    assert len(weeks) == 3 and chart["title"] == "Weekly attendance of Asha"
    assert [(p.below, p.y) for p in chart["points"]] == [(False, 12.0), (True, 108.0)]
    assert len(chart["segments"]) == 2  # the empty week breaks the line
    assert chart["threshold_y"] == 60.0 and "lowest 50 %" in chart["desc"] and "1 of 2 weeks" in chart["desc"]
    assert trend_chart(weeks=[], threshold=75) is None


def test_dashboard_card_counts_the_current_term(school):
    total = reports.student_current_term(student=school["asha"])
    assert numbers(total) == (
        {"held": 11, "present": 4, "absent": 4, "late": 2, "excused": 1, "minutes_late": 15},
        60.0,
    )
    assert total["below"] is True


def test_default_period_is_the_current_term_up_to_today(school, term):
    today = datetime.date(2026, 11, 22)
    assert reports.default_period(institute_id=term.institute_id, today=today) == reports.Period(term.starts_on, today)
    after = term.ends_on + datetime.timedelta(days=10)
    assert reports.default_period(institute_id=term.institute_id, today=after).date_to == term.ends_on
    term.is_current = False
    term.save()
    assert reports.default_period(institute_id=term.institute_id, today=today).days == 120


# ---------------------------------------------------------------- student and guardian pages


def test_student_page_table_chart_and_footnote(client, school):
    client.force_login(school["asha"].user)
    response = client.get(reverse("attendance:me"), SEP_QUERY)
    body = response.content.decode()
    assert response.status_code == 200
    assert "CS201 Data Structures" in body and "50.0&nbsp;%" in body and "75.0&nbsp;%" in body
    assert 'class="badge badge-danger">under 75&nbsp;%' in body  # CS201 row
    assert 'role="alert"' not in body  # the total is not under the line
    figure = body[body.index('<figure class="trend">') : body.index("</figure>")]
    assert '<svg class="trend-chart" role="img"' in figure and "<title id=" in figure and "<desc id=" in figure
    assert "style=" not in figure and "<script" not in figure
    assert "Weekly figures as a table" in body and "Mon 7 Sep 2026" in body
    assert "Excused absences (approved leave) are left out" in body
    assert "Ben Okafor" not in body


def test_threshold_warning_follows_the_setting(client, school, settings):
    settings.ATTENDANCE_WARN_BELOW = 80
    client.force_login(school["asha"].user)
    body = client.get(reverse("attendance:me"), SEP_QUERY).content.decode()
    assert 'role="alert"><strong>Attendance is 75.0&nbsp;%</strong>, under the 80&nbsp;%' in body


def test_guardian_sees_one_block_per_child_and_can_pick_one(client, school):
    GuardianLinkFactory(guardian=school["guardian"], student=school["chen"])
    client.force_login(school["guardian"].user)
    body = client.get(reverse("attendance:me"), SEP_QUERY).content.decode()
    assert "Asha Rao" in body and "Chen Li" in body and "Ben Okafor" not in body
    assert 'role="alert"><strong>Attendance is 40.0&nbsp;%</strong>' in body  # Chen
    body = client.get(reverse("attendance:me"), {**SEP_QUERY, "student": school["chen"].pk}).content.decode()
    assert 'id="report-' + str(school["chen"].pk) in body and 'id="report-' + str(school["asha"].pk) not in body
    assert client.get(reverse("attendance:me"), {"student": school["ben"].pk}).status_code == 404


def test_bad_filter_input_shows_an_error_and_the_default_period(client, school):
    client.force_login(school["asha"].user)
    response = client.get(reverse("attendance:me"), {"date_from": "2026-09-30", "date_to": "2026-09-01"})
    assert response.status_code == 200 and "The end date is before the start date." in response.content.decode()
    assert response.context["period"] == reports.default_period(institute_id=school["asha"].institute_id)
    response = client.get(reverse("attendance:me"), {"student": "x"})  # not an id: every child, with a warning
    assert response.status_code == 200
    assert "The address had an invalid student; showing every child." in response.content.decode()


# ---------------------------------------------------------------- teachers


def test_teacher_classes_are_own_covered_and_timetabled(school, section, subject):
    keys = {c.key for c in reports.teacher_classes(user=school["teacher"])}
    assert keys == {
        f"{section.pk}-{subject.pk}",  # teaches
        f"{section.pk}-{school['algorithms'].pk}",  # covered one session
        f"{school['cs1a'].pk}-{school['programming'].pk}",  # timetable entry
    }
    assert f"{school['cs2b'].pk}-{subject.pk}" not in keys  # t2's class


def test_class_report_per_student(school, section, subject):
    classes = reports.teacher_classes(user=school["teacher"])
    klass = reports.class_get_for_viewer(classes=classes, key=f"{section.pk}-{subject.pk}")
    result = reports.class_report(user=school["teacher"], klass=klass, period=SEP)
    assert [(r["name"], *numbers(r)) for r in result["rows"]] == [
        ("Asha Rao", {"held": 5, "present": 1, "absent": 2, "late": 1, "excused": 1, "minutes_late": 10}, 50.0),
        ("Ben Okafor", {"held": 5, "present": 5, "absent": 0, "late": 0, "excused": 0, "minutes_late": 0}, 100.0),
        ("Chen Li", {"held": 5, "present": 2, "absent": 3, "late": 0, "excused": 0, "minutes_late": 0}, 40.0),
    ]
    # 9 attended of 14 counted
    assert numbers(result["total"]) == (
        {"held": 15, "present": 8, "absent": 5, "late": 1, "excused": 1, "minutes_late": 10},
        64.3,
    )
    assert result["total"]["sessions"] == 5


def test_a_teacher_sees_only_the_sessions_they_teach_or_cover(school, section):
    key = f"{section.pk}-{school['algorithms'].pk}"
    mine = reports.class_get_for_viewer(classes=reports.teacher_classes(user=school["teacher"]), key=key)
    covered = reports.class_report(user=school["teacher"], klass=mine, period=SEP)
    assert [(r["name"], r["held"]) for r in covered["rows"]] == [("Asha Rao", 1)]  # the Thu 17 cover
    theirs = reports.class_get_for_viewer(classes=reports.teacher_classes(user=school["t2"]), key=key)
    assert [
        (r["name"], r["held"]) for r in reports.class_report(user=school["t2"], klass=theirs, period=SEP)["rows"]
    ] == [("Asha Rao", 4)]


def test_teacher_page_filters_by_class_and_dates(client, school, section, subject):
    client.force_login(school["teacher"])
    url = reverse("attendance:teacher_report")
    body = client.get(url, SEP_QUERY).content.decode()
    assert "CS 2-A · CS201 Data Structures" in body and "CS 2-A · CS202 Algorithms" in body
    assert "64.3&nbsp;%" in body and "CS 2-B" not in body.split('id="class-overview"')[1]
    response = client.get(
        url, {"class": f"{section.pk}-{subject.pk}", "date_from": "2026-09-01", "date_to": "2026-09-13"}
    )
    rows = {r["name"]: (r["held"], r["percent"]) for r in response.context["detail"]["rows"]}
    assert rows == {"Asha Rao": (2, 50.0), "Ben Okafor": (2, 100.0), "Chen Li": (2, 50.0)}
    assert "Chen Li" in response.content.decode()


# ---------------------------------------------------------------- admins


@pytest.mark.parametrize(
    ("group_by", "expected", "total"),
    [
        ("programme", [("CS Computer Science", 23, 72.7), ("MA Mathematics", 4, 25.0)], (27, 65.4)),
        ("year", [("CS year 1", 2, 100.0), ("CS year 2", 21, 70.0), ("MA year 1", 4, 25.0)], (27, 65.4)),
        (
            "section",
            [("CS 1-A", 2, 100.0), ("CS 2-A", 19, 72.2), ("CS 2-B", 2, 50.0), ("MA 1-A", 4, 25.0)],
            (27, 65.4),
        ),
        (
            "subject",
            [
                ("CS101 Programming", 2, 100.0),
                ("CS201 Data Structures", 17, 62.5),
                ("CS202 Algorithms", 4, 100.0),
                ("MA101 Calculus", 4, 25.0),
            ],
            (27, 65.4),
        ),
    ],
)
def test_institute_report_groups(school, institute, group_by, expected, total):
    result = reports.institute_report(institute_id=institute.pk, group_by=group_by, period=SEP)
    assert [(r["label"], r["held"], round(r["percent"], 1)) for r in result["rows"]] == expected
    assert (result["total"]["held"], round(result["total"]["percent"], 1)) == total
    assert result["total"]["present"] == 15  # Zed's institute is not counted


def test_institute_report_without_marks(school, institute):
    result = reports.institute_report(
        institute_id=institute.pk, group_by="subject", period=reports.Period(D(2027, 1, 1), D(2027, 1, 31))
    )
    assert result["rows"] == [] and result["total"]["held"] == 0 and result["total"]["percent"] is None


def test_section_row_counts(school, institute):
    rows = reports.institute_report(institute_id=institute.pk, group_by="section", period=SEP)["rows"]
    cs2a = next(r for r in rows if r["label"] == "CS 2-A")
    assert numbers(cs2a)[0] == {"held": 19, "present": 11, "absent": 5, "late": 2, "excused": 1, "minutes_late": 15}


def test_lowest_attendance(school, institute):
    lowest = reports.lowest_attendance(institute_id=institute.pk, period=SEP, min_sessions=3)
    assert [(r["name"], round(r["percent"], 1)) for r in lowest] == [
        ("Fay Wong", 25.0),
        ("Chen Li", 40.0),
        ("Asha Rao", 75.0),
        ("Ben Okafor", 100.0),
    ]  # Dev and Eve have 2 counted classes
    two = reports.lowest_attendance(institute_id=institute.pk, period=SEP, min_sessions=2, limit=3)
    assert [r["name"] for r in two] == ["Fay Wong", "Chen Li", "Dev Patel"]
    assert lowest[0]["section"] == "MA 1-A" and lowest[0]["below"] is True


def test_present_but_missing(school, institute):
    rows = reports.present_but_missing(institute_id=institute.pk, date=D(2026, 9, 9))
    assert [(r["name"], r["attended"], r["absent"], r["missed"]) for r in rows] == [
        ("Asha Rao", 1, 1, "CS201"),  # at CS202, missed CS201
        ("Fay Wong", 1, 1, "MA101"),
    ]  # Dev (only absent), Chen (one class) and Zed (other institute) are not listed
    assert reports.present_but_missing(institute_id=institute.pk, date=D(2026, 9, 10)) == []  # Fay absent all day


def test_admin_page(client, school, admin_user):
    client.force_login(admin_user)
    response = client.get(
        reverse("attendance:admin_report"), {**SEP_QUERY, "group_by": "subject", "day": "2026-09-09", "min_sessions": 3}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        "CS201 Data Structures" in body
        and "62.5&nbsp;%" in body
        and "Whole institute" in body
        and "65.4&nbsp;%" in body
    )
    assert "Fay Wong" in body and "Wednesday 9 September 2026" in body and "Zed Other" not in body
    assert [r["name"] for r in response.context["lowest"]][:2] == ["Fay Wong", "Chen Li"]


def test_admin_page_shows_the_first_students_missing_lessons_and_counts_the_rest(
    client, school, admin_user, monkeypatch
):
    from attendance import views

    monkeypatch.setattr(views, "MISSING_SHOWN", 1)
    client.force_login(admin_user)
    response = client.get(reverse("attendance:admin_report"), {**SEP_QUERY, "day": "2026-09-09"})
    assert [r["name"] for r in response.context["missing"]] == ["Asha Rao"]
    assert "And 1 more: the CSV and Excel downloads list everyone." in response.content.decode()
    csv_rows = read_csv(
        client.get(reverse("attendance:admin_report"), {"day": "2026-09-09", "table": "missing", "format": "csv"})
    )
    assert len(csv_rows) == 3


# ---------------------------------------------------------------- exports


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_student_csv_and_xlsx(client, school):
    client.force_login(school["asha"].user)
    response = client.get(reverse("attendance:me"), {**SEP_QUERY, "format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="attendance-2026-09-01-2026-09-30.csv"'
    assert read_csv(response) == [
        [
            "Student",
            "Roll number",
            "Subject code",
            "Subject",
            "Classes held",
            "Present",
            "Absent",
            "Late",
            "Excused",
            "Minutes late",
            "Attendance %",
        ],
        ["Asha Rao", "CS2A001", "CS201", "Data Structures", "5", "1", "2", "1", "1", "10", "50.0"],
        ["Asha Rao", "CS2A001", "CS202", "Algorithms", "4", "3", "0", "1", "0", "5", "100.0"],
        ["Asha Rao", "CS2A001", "", "All subjects", "9", "4", "2", "2", "1", "15", "75.0"],
    ]
    response = client.get(reverse("attendance:me"), {**SEP_QUERY, "format": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = read_xlsx(response)
    assert rows[1] == ["Asha Rao", "CS2A001", "CS201", "Data Structures", 5, 1, 2, 1, 1, 10, 50.0]
    assert rows[3][3:] == ["All subjects", 9, 4, 2, 2, 1, 15, 75.0]


def test_teacher_exports(client, school, section, subject):
    client.force_login(school["teacher"])
    url = reverse("attendance:teacher_report")
    rows = read_xlsx(client.get(url, {**SEP_QUERY, "class": f"{section.pk}-{subject.pk}", "format": "xlsx"}))
    assert rows[0][:3] == ["Roll number", "Student", "Classes held"]
    assert [r[:2] + r[-1:] for r in rows[1:]] == [
        ["CS2A001", "Asha Rao", 50.0],
        ["CS2A002", "Ben Okafor", 100.0],
        ["CS2A003", "Chen Li", 40.0],
        [None, "Whole class", 64.3],
    ]
    overview = read_csv(client.get(url, {**SEP_QUERY, "format": "csv"}))
    assert [r[:5] for r in overview] == [
        ["Section", "Subject code", "Subject", "Sessions", "Students"],
        ["CS 2-A", "CS201", "Data Structures", "5", "3"],
        ["CS 2-A", "CS202", "Algorithms", "1", "1"],
    ]


def test_admin_exports(client, school, admin_user):
    client.force_login(admin_user)
    url = reverse("attendance:admin_report")
    grouped = read_xlsx(client.get(url, {**SEP_QUERY, "group_by": "programme", "format": "xlsx"}))
    assert grouped == [
        [
            "Course",
            "Classes held",
            "Present",
            "Absent",
            "Late",
            "Excused",
            "Minutes late",
            "Attendance %",
        ],
        ["CS Computer Science", 23, 14, 6, 2, 1, 15, 72.7],
        ["MA Mathematics", 4, 1, 3, 0, 0, 0, 25.0],
        ["Whole institute", 27, 15, 9, 2, 1, 15, 65.4],
    ]
    lowest = read_csv(client.get(url, {**SEP_QUERY, "table": "lowest", "min_sessions": "3", "format": "csv"}))
    assert [r[1] for r in lowest[1:]] == ["Fay Wong", "Chen Li", "Asha Rao", "Ben Okafor"]
    missing = read_csv(client.get(url, {"day": "2026-09-09", "table": "missing", "format": "csv"}))
    assert missing == [
        ["Roll number", "Student", "Section", "Classes attended", "Classes missed", "Missed subjects"],
        ["CS2A001", "Asha Rao", "CS 2-A", "1", "1", "CS201"],
        ["MA1A001", "Fay Wong", "MA 1-A", "1", "1", "MA101"],
    ]


def test_exports_never_carry_a_formula(client, school, admin_user):
    user = school["chen"].user
    user.full_name = '=HYPERLINK("http://x.test")'
    user.save()
    client.force_login(admin_user)
    url = reverse("attendance:admin_report")
    query = {**SEP_QUERY, "table": "lowest", "min_sessions": "3"}
    assert read_csv(client.get(url, {**query, "format": "csv"}))[2][1] == '\'=HYPERLINK("http://x.test")'
    sheet = load_workbook(io.BytesIO(client.get(url, {**query, "format": "xlsx"}).content)).active
    assert sheet["B3"].value == '=HYPERLINK("http://x.test")' and sheet["B3"].data_type == "s"


# ---------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("url_name", "allowed"),
    [
        ("attendance:me", {"student", "guardian"}),
        ("attendance:teacher_report", {"teacher", "admin", "other_admin"}),  # each sees their own
        ("attendance:admin_report", {"admin", "other_admin"}),
    ],
)
def test_who_may_open_each_report(client, school, users_by_role, url_name, allowed):
    url = reverse(url_name)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for role, user in users_by_role.items():
        client.force_login(user)
        for query in ({}, {"format": "csv"}):
            response = client.get(url, {**SEP_QUERY, **query})
            assert response.status_code == (200 if role in allowed else 403), (role, query)


def test_student_sees_only_their_own(client, school):
    client.force_login(school["ben"].user)
    body = client.get(reverse("attendance:me"), {**SEP_QUERY, "format": "csv"}).content.decode()
    assert "Ben Okafor" in body and "Asha Rao" not in body
    assert client.get(reverse("attendance:me"), {"student": school["asha"].pk}).status_code == 404


def test_teacher_cannot_open_another_teachers_class(client, school, section, subject):
    client.force_login(school["teacher"])
    url = reverse("attendance:teacher_report")
    assert client.get(url, {"class": f"{school['cs2b'].pk}-{subject.pk}"}).status_code == 404  # t2's
    assert client.get(url, {"class": f"{school['cs2b'].pk}-{subject.pk}", "format": "csv"}).status_code == 404
    assert client.get(url, {"class": "nonsense"}).status_code == 404
    client.force_login(school["t2"])
    assert client.get(url, {"class": f"{school['cs2b'].pk}-{subject.pk}"}).status_code == 200
    body = client.get(url, SEP_QUERY).content.decode()
    assert "CS 2-A · CS201" not in body.split('id="class-overview"')[1]  # teacher_user's class


def test_admins_see_their_institute_only(client, school, admin_user, other_admin, section, subject):
    url = reverse("attendance:teacher_report")
    client.force_login(admin_user)
    response = client.get(url, {**SEP_QUERY, "class": f"{school['cs2b'].pk}-{subject.pk}"})
    assert [r["name"] for r in response.context["detail"]["rows"]] == ["Dev Patel"]
    assert client.get(url, {"class": f"{school['o_section'].pk}-{school['o_subject'].pk}"}).status_code == 404
    client.force_login(other_admin)
    assert client.get(url, {"class": f"{section.pk}-{subject.pk}"}).status_code == 404
    body = client.get(reverse("attendance:admin_report"), {**SEP_QUERY, "day": "2026-09-09"}).content.decode()
    assert "Zed Other" in body or "OX 1-A" in body
    assert "Asha Rao" not in body and "Fay Wong" not in body and "CS 2-A" not in body


def test_navigation_and_dashboards_link_the_reports(client, school, admin_user):
    for user, link in (
        (school["asha"].user, reverse("attendance:me")),
        (school["guardian"].user, reverse("attendance:leave")),
        (school["teacher"], reverse("attendance:teacher_report")),
        (admin_user, reverse("attendance:admin_report")),
    ):
        client.force_login(user)
        assert f'href="{link}"' in client.get(reverse("accounts:home"), follow=True).content.decode()
    client.force_login(school["asha"].user)
    body = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert "60.0&nbsp;%</span>of 11 classes this term" in body and "Under 75&nbsp;%" in body


# ---------------------------------------------------------------- query budgets (same at 3 and 30)


def grow(*, n, institute, section, term, subject, teacher_user, guardian):
    """n students in the section (the guardian's children), n sessions, every student marked in each."""
    slot = TimeSlotFactory(institute=institute, order=1)
    students = [StudentFactory(section=section, term=term, user__full_name=f"Kid {k}") for k in range(n)]
    for s in students:
        GuardianLinkFactory(guardian=guardian, student=s)
    statuses = ["present", "absent", "late", "excused"]
    start = D(2026, 9, 1)
    for k in range(n):
        session = make_session(
            term=term,
            section=section,
            subject=subject,
            teacher=teacher_user.teacher_profile,
            date=start + datetime.timedelta(days=k),
            slot=slot,
        )
        AttendanceRecord.objects.bulk_create(
            [
                AttendanceRecord(
                    institute=institute,
                    session=session,
                    student=s,
                    status=statuses[(i + k) % 4],
                    minutes_late=3 if statuses[(i + k) % 4] == "late" else 0,
                )
                for i, s in enumerate(students)
            ]
        )
    return students


SIZES = [3, 30]
DATES = {"date_from": "2026-09-01", "date_to": "2026-10-31"}


@pytest.fixture
def sized(request, institute, section, term, subject, teacher_user, guardian_link):
    n = request.param
    students = grow(
        n=n,
        institute=institute,
        section=section,
        term=term,
        subject=subject,
        teacher_user=teacher_user,
        guardian=guardian_link.guardian,
    )
    return {"n": n, "students": students, "guardian": guardian_link.guardian.user, "key": f"{section.pk}-{subject.pk}"}


# session, user, institute (page header) + the report's own queries
PINS = {
    # + children, term, subjects, rows, totals, weeks
    ("student", "html"): 9,
    ("guardian", "html"): 9,
    ("student", "xlsx"): 8,
    # + the teacher's profile, classes (one UNION), term, class rows, class total, overview
    ("teacher_class", "html"): 9,
    ("teacher_class", "xlsx"): 7,
    ("teacher_overview", "html"): 7,
    ("admin_class", "html"): 8,  # an admin has no teacher profile to read
    # + term, grouped rows with their grand total, lowest (figures, then names), present-but-missing
    ("admin", "html"): 8,
    ("admin", "xlsx"): 4,
}


@pytest.mark.parametrize("sized", SIZES, indirect=True)
@pytest.mark.parametrize(("view", "fmt"), list(PINS))
def test_report_query_counts_do_not_grow(client, django_assert_num_queries, sized, admin_user, teacher_user, view, fmt):
    user, url, query = {
        "student": (sized["students"][-1].user, "attendance:me", {}),
        "guardian": (sized["guardian"], "attendance:me", {}),
        "teacher_class": (teacher_user, "attendance:teacher_report", {"class": sized["key"]}),
        "teacher_overview": (teacher_user, "attendance:teacher_report", {}),
        "admin_class": (admin_user, "attendance:teacher_report", {"class": sized["key"]}),
        "admin": (admin_user, "attendance:admin_report", {"day": "2026-09-02", "min_sessions": 1}),
    }[view]
    query = {**DATES, **query, **({"format": fmt} if fmt != "html" else {})}
    client.force_login(user)
    with django_assert_num_queries(PINS[(view, fmt)]):
        response = client.get(reverse(url), query)
    assert response.status_code == 200
    if fmt == "html":
        body = response.content.decode()
        assert view != "guardian" or body.count('class="report-block"') == sized["n"] + 1  # Asha + the kids
        assert view != "teacher_class" or len(response.context["detail"]["rows"]) == sized["n"]


def test_one_to_one_lessons_count_for_the_student_and_form_their_own_group(school, institute, term):
    eve, programming = school["eve"], school["programming"]
    session = ClassSession.objects.create(
        institute=institute,
        term=term,
        student=eve,
        subject=programming,
        teacher=school["t2"].teacher_profile,
        date=D(2026, 9, 11),
        slot=TimeSlotFactory(institute=institute, order=3),
    )
    mark(session, eve, "absent")
    report = reports.student_summary(student=eve, period=SEP)
    assert [(r["code"], r["held"], round(r["percent"], 1)) for r in report.rows] == [("CS101", 3, 66.7)]
    by_section = reports.institute_report(institute_id=institute.pk, group_by="section", period=SEP)["rows"]
    assert {r["label"]: r["held"] for r in by_section}["One-to-one lessons"] == 1
    by_subject = reports.institute_report(institute_id=institute.pk, group_by="subject", period=SEP)["rows"]
    assert [(r["label"], r["held"]) for r in by_subject][0] == ("CS101 Programming", 3)
    assert "One-to-one" not in str(reports.class_overview(user=school["t2"], period=SEP))
