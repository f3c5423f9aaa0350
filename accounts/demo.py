"""A realistic demo institute, built with the test factories. Idempotent: run it as often as you like."""

import datetime
import math

from django.db import transaction

from accounts.models import GuardianLink, GuardianProfile, Relationship, Role, StudentProfile, User
from accounts.tests.factories import (
    DEFAULT_PASSWORD,
    AdminFactory,
    CounselorFactory,
    InstituteFactory,
    TeacherFactory,
    UserFactory,
)
from enrollment.models import ClassSection, Subject
from enrollment.tests.factories import (
    ClassSectionFactory,
    PrerequisiteFactory,
    ProgrammeFactory,
    SubjectFactory,
    TermFactory,
    TopicFactory,
)

DEMO_SLUG = "riverside"
SECTION_SIZE = 40

CATALOGUE = {
    ("CS", "B.Sc. Computer Science", 3): {
        1: ["Programming Fundamentals", "Discrete Mathematics", "Digital Logic", "Communication Skills"],
        2: ["Data Structures", "Databases", "Operating Systems", "Probability and Statistics"],
        3: ["Algorithms", "Computer Networks", "Software Engineering", "Machine Learning"],
    },
    ("COM", "B.Com. Commerce", 3): {
        1: ["Financial Accounting", "Business Economics", "Business Mathematics", "Business Communication"],
        2: ["Corporate Accounting", "Cost Accounting", "Business Law", "Banking"],
        3: ["Auditing", "Income Tax", "Financial Management", "Marketing"],
    },
    ("PHY", "B.Sc. Physics", 3): {
        1: ["Mechanics", "Calculus", "Physics Lab I", "Chemistry for Physicists"],
        2: ["Electromagnetism", "Thermodynamics", "Physics Lab II", "Linear Algebra"],
        3: ["Quantum Mechanics", "Solid State Physics", "Physics Lab III", "Electronics"],
    },
}
TOPIC_STEMS = ["Introduction", "Foundations", "Core methods", "Worked problems", "Applications", "Review and practice"]
FIRST_NAMES = [
    "Asha",
    "Ravi",
    "Meera",
    "Arjun",
    "Priya",
    "Kiran",
    "Sara",
    "Dev",
    "Nisha",
    "Omar",
    "Lena",
    "Tom",
    "Fatima",
    "Yusuf",
    "Ana",
    "Mateo",
    "Chen",
    "Li",
    "Hana",
    "Kofi",
    "Amara",
    "Ivan",
    "Zoe",
    "Noah",
]
LAST_NAMES = [
    "Rao",
    "Kumar",
    "Singh",
    "Patel",
    "Khan",
    "Garcia",
    "Nguyen",
    "Okafor",
    "Mensah",
    "Silva",
    "Ito",
    "Müller",
    "Novak",
    "Haddad",
    "Ortiz",
    "Brown",
    "Cohen",
    "Ali",
    "Das",
    "Iyer",
]


def _section_name(i: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return letters[i % len(letters)] + (str(i // len(letters)) if i >= len(letters) else "")


def _name(n: int) -> str:
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


@transaction.atomic
def seed_demo(*, students: int = 60, teachers: int | None = None) -> dict:
    institute = InstituteFactory(name="Riverside College", slug=DEMO_SLUG)
    previous = TermFactory(
        institute=institute,
        academic_year="2025-26",
        semester=2,
        starts_on=datetime.date(2026, 1, 5),
        ends_on=datetime.date(2026, 5, 30),
        is_current=False,
    )
    term = TermFactory(
        institute=institute,
        academic_year="2026-27",
        semester=1,
        starts_on=datetime.date(2026, 7, 1),
        ends_on=datetime.date(2026, 12, 20),
        is_current=True,
    )

    subjects_by_year: dict[tuple[str, int], list[Subject]] = {}
    programmes = []
    for (code, name, years), by_year in CATALOGUE.items():
        programme = ProgrammeFactory(institute=institute, code=code, name=name, years=years)
        programmes.append(programme)
        for year, names in by_year.items():
            subjects = []
            for i, subject_name in enumerate(names, start=1):
                subject = SubjectFactory(
                    institute=institute,
                    programme=programme,
                    year=year,
                    code=f"{code}{year}{i:02d}",
                    name=subject_name,
                    weekly_lessons=4 - i % 2,
                )
                subjects.append(subject)
                for order, stem in enumerate(TOPIC_STEMS, start=1):
                    TopicFactory(institute=institute, subject=subject, order=order, title=f"{stem}: {subject_name}")
            subjects_by_year[(code, year)] = subjects
            if year > 1:  # each later subject builds on the one in the same slot a year earlier
                for earlier, later in zip(subjects_by_year[(code, year - 1)], subjects, strict=True):
                    PrerequisiteFactory(institute=institute, subject=later, requires=earlier)

    # Enough sections for the students, spread over programmes and years.
    slots = [(p, y) for p in programmes for y in range(1, p.years + 1)]
    sections_needed = max(len(slots), math.ceil(students / SECTION_SIZE))
    sections: list[ClassSection] = []
    for n in range(sections_needed):
        programme, year = slots[n % len(slots)]
        sections.append(
            ClassSectionFactory(
                institute=institute, programme=programme, year=year, name=_section_name(n // len(slots))
            )
        )

    AdminFactory(
        institute=institute,
        user__username="admin",
        user__email="admin@riverside.test",
        user__full_name="Grace Okafor",
        title="Registrar",
    ) if not User.objects.filter(username="admin").exists() else None
    for n in range(1, 3):
        if not User.objects.filter(username=f"counselor{n}").exists():
            CounselorFactory(
                institute=institute,
                user__username=f"counselor{n}",
                user__email=f"counselor{n}@riverside.test",
                user__full_name=_name(500 + n),
            )

    all_subjects = [s for group in subjects_by_year.values() for s in group]
    teacher_count = teachers or max(12, students // 20)
    existing_teachers = set(
        User.objects.filter(institute=institute, role=Role.TEACHER).values_list("username", flat=True)
    )
    for n in range(1, teacher_count + 1):
        if f"teacher{n}" in existing_teachers:
            continue
        # Every subject gets several qualified teachers, so every class can be timetabled.
        size = len(all_subjects)
        picked = {s for i, s in enumerate(all_subjects) if i % teacher_count == n - 1}
        picked |= {all_subjects[(n - 1) % size], all_subjects[n % size]}
        TeacherFactory(
            institute=institute,
            user__username=f"teacher{n}",
            user__email=f"teacher{n}@riverside.test",
            user__full_name=_name(300 + n),
            employee_id=f"EMP{n:04d}",
            subjects=sorted(picked, key=lambda s: s.code),
        )

    created_students = _bulk_students(institute=institute, term=term, sections=sections, count=students)
    created_guardians = _bulk_guardians(institute=institute)

    from enrollment.services import section_enrol
    from timetable.demo import demo_week

    admin = User.objects.get(username="admin")
    _past_results(institute=institute, term=previous, sections=sections)
    lessons = demo_week(institute=institute, term=term, sections=sections, actor=admin)
    enrolled = sum(section_enrol(section=s, term=term, actor=admin)["created"] for s in sections)
    from attendance.demo import demo_attendance

    marks = demo_attendance(institute=institute, term=term, actor=admin)
    _welcome(institute=institute, admin=admin)
    from ai_features.services import recommendations_run

    transaction.on_commit(recommendations_run)  # today's study recommendations, made by the worker
    return {
        "marks": marks,
        "institute": institute.name,
        "students": created_students,
        "guardians": created_guardians,
        "lessons": lessons,
        "enrolments": enrolled,
    }


def _bulk_students(*, institute, term, sections, count: int) -> int:
    """Create the students that are missing, set-based: two INSERTs however many there are."""
    wanted = {}
    for n in range(count):
        section = sections[n % len(sections)]
        roll = f"{section.programme.code}{section.year}{section.name}{n // len(sections) + 1:03d}"
        wanted[roll] = (n, section)
    have = set(
        StudentProfile.objects.filter(institute=institute, roll_number__in=wanted).values_list("roll_number", flat=True)
    )
    missing = [(roll, n, section) for roll, (n, section) in wanted.items() if roll not in have]
    if not missing:
        return 0
    users = [
        UserFactory.build(
            institute=institute,
            role=Role.STUDENT,
            username=roll.lower(),
            email=f"{roll.lower()}@riverside.test",
            full_name=_name(n),
            phone=f"+44 7700 9{n:05d}",
        )
        for roll, n, section in missing
    ]
    User.objects.bulk_create(users)
    users = {u.username: u for u in User.objects.filter(username__in=[u.username for u in users])}
    StudentProfile.objects.bulk_create(
        [
            StudentProfile(institute=institute, user=users[roll.lower()], roll_number=roll, section=section, term=term)
            for roll, n, section in missing
        ]
    )
    return len(missing)


def _bulk_guardians(*, institute) -> int:
    """One guardian per student without one; every fifth guardian also has the next student as a sibling."""
    unlinked = list(
        StudentProfile.objects.filter(institute=institute, guardian_links__isnull=True)
        .select_related("user")
        .order_by("pk")
    )
    if not unlinked:
        return 0
    pairs, i = [], 0
    while i < len(unlinked):
        take = 2 if (len(pairs) % 5 == 0 and i + 1 < len(unlinked)) else 1
        pairs.append(unlinked[i : i + take])
        i += take
    start = User.objects.filter(institute=institute, role=Role.GUARDIAN).count()
    users = [
        UserFactory.build(
            institute=institute,
            role=Role.GUARDIAN,
            username=f"guardian{start + k + 1}",
            email=f"guardian{start + k + 1}@riverside.test",
            full_name=f"{FIRST_NAMES[(k + 7) % len(FIRST_NAMES)]} {children[0].user.full_name.split()[-1]}",
            phone=f"+44 7700 8{start + k:05d}",
        )
        for k, children in enumerate(pairs)
    ]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("pk"))
    by_name = {u.username: u for u in users}
    profiles = GuardianProfile.objects.bulk_create(
        [GuardianProfile(institute=institute, user=by_name[f"guardian{start + k + 1}"]) for k in range(len(pairs))]
    )
    profiles = {p.user_id: p for p in GuardianProfile.objects.filter(user__in=users)}
    links = []
    for k, children in enumerate(pairs):
        guardian = profiles[by_name[f"guardian{start + k + 1}"].pk]
        relationship = [Relationship.MOTHER, Relationship.FATHER, Relationship.GUARDIAN][k % 3]
        links += [
            GuardianLink(institute=institute, guardian=guardian, student=child, relationship=relationship)
            for child in children
        ]
    GuardianLink.objects.bulk_create(links)
    return len(pairs)


def demo_logins() -> list[tuple[str, str, str]]:
    """(role, username, password): one per role, the guardian one with two children."""
    rows = []
    for role, username in [
        ("admin", "admin"),
        ("teacher", "teacher1"),
        ("counselor", "counselor1"),
    ]:
        if User.objects.filter(username=username).exists():
            rows.append((role, username, DEFAULT_PASSWORD))
    student = StudentProfile.objects.filter(institute__slug=DEMO_SLUG).select_related("user").order_by("pk").first()
    if student:
        rows.append(("student", student.user.username, DEFAULT_PASSWORD))
    guardian = (
        GuardianProfile.objects.filter(institute__slug=DEMO_SLUG, user__username__startswith="guardian")
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if guardian:
        rows.append(("guardian", guardian.user.username, DEFAULT_PASSWORD))
    return rows


def _past_results(*, institute, term, sections) -> None:
    """Students beyond year 1 passed their earlier years' subjects (so prerequisites are met), set-based."""
    from enrollment.models import Enrollment, EnrollmentStatus

    earlier = {}
    for subject in Subject.objects.filter(institute=institute):
        earlier.setdefault(subject.programme_id, []).append(subject)
    have = set(Enrollment.objects.filter(term=term).values_list("student_id", "subject_id"))
    rows = []
    for student in StudentProfile.objects.filter(section__in=[s for s in sections if s.year > 1]).select_related(
        "section"
    ):
        for subject in earlier.get(student.section.programme_id, []):
            if subject.year < student.section.year and (student.pk, subject.pk) not in have:
                rows.append(
                    Enrollment(
                        institute=institute, student=student, subject=subject, term=term, status=EnrollmentStatus.PASSED
                    )
                )
    Enrollment.objects.bulk_create(rows)


def _welcome(*, institute, admin) -> None:
    """One announcement for everyone, the first time."""
    from announcements.models import Announcement
    from announcements.services import announcement_create

    if not Announcement.objects.filter(institute=institute).exists():
        announcement_create(
            author=admin,
            title="Welcome to the new term",
            body="Timetables are up. Check **today's lessons** on your dashboard, and ask the "
            "study assistant what to revise.",
            audience="all",
        )
