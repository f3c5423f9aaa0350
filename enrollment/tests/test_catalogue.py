"""The academic catalogue: its services and its admin pages, for every kind of row."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse

from accounts.tests.factories import StudentFactory
from audit.models import AuditEvent
from enrollment import services
from enrollment.catalogue import KINDS
from enrollment.models import ClassSection, Prerequisite, Programme, Subject, Term, Topic
from enrollment.tests.factories import (
    ClassSectionFactory,
    PrerequisiteFactory,
    ProgrammeFactory,
    SubjectFactory,
    TermFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# The catalogue's own kinds (other apps may register more kinds of their own, tested there).
CATALOGUE_KEYS = ("programmes", "sections", "terms", "subjects", "topics", "prerequisites")


@pytest.fixture
def cat(institute, other_institute, programme, section, term, subject):
    """This institute's catalogue, with one row of every kind, and a foreign programme and subject next door."""
    algorithms = SubjectFactory(programme=programme, year=2, code="CS202", name="Algorithms")
    intro = SubjectFactory(programme=programme, year=1, code="CS101", name="Introduction to Programming")
    foreign_programme = ProgrammeFactory(institute=other_institute, code="HX", name="Hilltop Exclusive")
    return SimpleNamespace(
        institute=institute,
        programme=programme,
        section=section,
        term=term,
        subject=subject,
        algorithms=algorithms,
        intro=intro,
        topic=TopicFactory(subject=subject, order=1, title="Linked lists"),
        prerequisite=PrerequisiteFactory(subject=algorithms, requires=subject),
        foreign_programme=foreign_programme,
        foreign_subject=SubjectFactory(programme=foreign_programme, code="HX101", name="Hilltop Only"),
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def list_url(key):
    return reverse("enrollment:list", args=[key])


def rows(key, institute):
    return KINDS[key].model.objects.filter(institute=institute).count()


def form_errors(response, field):
    errors = response.context["form"].errors
    return " ".join(errors.get(field or NON_FIELD_ERRORS, []))


# ------------------------------------------------------------------------------------------- create

CREATE = {
    "programmes": (lambda c: {"code": "EE", "name": "Electrical Engineering", "years": 4}, {"code": "EE"}),
    "sections": (lambda c: {"programme": c.programme.pk, "year": 1, "name": "B"}, {"year": 1, "name": "B"}),
    "terms": (
        lambda c: {"academic_year": "2027-28", "semester": 2, "starts_on": "2028-01-05", "ends_on": "2028-05-30"},
        {"academic_year": "2027-28", "semester": 2, "is_current": False},
    ),
    "subjects": (
        lambda c: {
            "programme": c.programme.pk,
            "year": 1,
            "code": "CS150",
            "name": "Discrete Maths",
            "weekly_lessons": 4,
        },
        {"code": "CS150", "weekly_lessons": 4},
    ),
    "topics": (lambda c: {"subject": c.subject.pk, "order": 2, "title": "Trees"}, {"order": 2, "title": "Trees"}),
    "prerequisites": (
        lambda c: {"subject": c.subject.pk, "requires": c.intro.pk},
        {"subject__code": "CS201", "requires__code": "CS101"},
    ),
}


@pytest.mark.parametrize("key", CATALOGUE_KEYS)
def test_admin_creates_a_row_of_every_kind(admin_client, admin_user, cat, key):
    data, lookup = CREATE[key]
    before = rows(key, cat.institute)
    response = admin_client.post(list_url(key), data(cat))
    assert response.status_code == 302 and response.url == list_url(key)
    assert rows(key, cat.institute) == before + 1
    obj = KINDS[key].model.objects.get(institute=cat.institute, **lookup)
    event = AuditEvent.objects.get(action=f"catalogue.{key}.created")
    assert (event.institute, event.actor, event.object_id) == (cat.institute, admin_user, str(obj.pk))
    assert event.object_type == obj._meta.label_lower
    assert f"Added {KINDS[key].singular} {obj}" in admin_client.get(response.url).content.decode()


# ------------------------------------------------------------------------------------------- edit

EDIT = {
    "programmes": (
        lambda c: c.programme,
        lambda c: {"code": "CS", "name": "Computing", "years": 4},
        "name",
        "Computing",
    ),
    "sections": (lambda c: c.section, lambda c: {"programme": c.programme.pk, "year": 3, "name": "A"}, "year", 3),
    "terms": (
        lambda c: c.term,
        lambda c: {"academic_year": "2026-27", "semester": 1, "starts_on": "2026-07-01", "ends_on": "2026-12-31"},
        "ends_on",
        datetime.date(2026, 12, 31),
    ),
    "subjects": (
        lambda c: c.subject,
        lambda c: {
            "programme": c.programme.pk,
            "year": 2,
            "code": "CS201",
            "name": "Data Structures",
            "weekly_lessons": 5,
        },
        "weekly_lessons",
        5,
    ),
    "topics": (lambda c: c.topic, lambda c: {"subject": c.subject.pk, "order": 7, "title": "Linked lists"}, "order", 7),
    "prerequisites": (
        lambda c: c.prerequisite,
        lambda c: {"subject": c.algorithms.pk, "requires": c.intro.pk},
        "requires_id",
        None,  # checked below: the intro subject
    ),
}


@pytest.mark.parametrize("key", CATALOGUE_KEYS)
def test_admin_edits_a_row_of_every_kind(admin_client, admin_user, cat, key):
    get_obj, data, attr, value = EDIT[key]
    obj = get_obj(cat)
    value = cat.intro.pk if value is None else value
    url = reverse("enrollment:edit", args=[key, obj.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, data(cat))
    assert response.status_code == 302 and response.url == list_url(key)
    obj.refresh_from_db()
    assert getattr(obj, attr) == value
    event = AuditEvent.objects.get(action=f"catalogue.{key}.updated")
    assert event.object_id == str(obj.pk) and event.actor == admin_user
    changed = "requires" if attr == "requires_id" else attr
    assert changed in event.changes and event.changes[changed][1] == (
        value if isinstance(value, int | str) else str(value)
    )


def test_edit_records_only_the_fields_that_changed(admin_client, cat):
    admin_client.post(
        reverse("enrollment:edit", args=["programmes", cat.programme.pk]),
        {"code": "CS", "name": "Computing", "years": 3},
    )
    assert AuditEvent.objects.get(action="catalogue.programmes.updated").changes == {
        "name": ["Computer Science", "Computing"]
    }


# ------------------------------------------------------------------------------------------- delete

DELETABLE = {
    "programmes": lambda c: ProgrammeFactory(institute=c.institute, code="EE", name="Electrical"),
    "sections": lambda c: ClassSectionFactory(programme=c.programme, year=1, name="Z"),
    "terms": lambda c: TermFactory(institute=c.institute, academic_year="2027-28", is_current=False),
    "subjects": lambda c: c.intro,
    "topics": lambda c: c.topic,
    "prerequisites": lambda c: c.prerequisite,
}


@pytest.mark.parametrize("key", CATALOGUE_KEYS)
def test_admin_deletes_a_row_of_every_kind(admin_client, admin_user, cat, key):
    obj = DELETABLE[key](cat)
    label, pk = str(obj), obj.pk
    response = admin_client.post(reverse("enrollment:delete", args=[key, pk]))
    assert response.status_code == 302 and response.url == list_url(key)
    assert not KINDS[key].model.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action=f"catalogue.{key}.deleted")
    assert event.actor == admin_user and label in event.summary and f"#{pk}" in event.summary
    assert f"Deleted {KINDS[key].singular} {label}" in admin_client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("key", "get_obj"),
    [
        ("programmes", lambda c: c.programme),  # has sections and subjects
        ("sections", lambda c: c.section),  # has students
        ("terms", lambda c: c.term),  # has students
    ],
)
def test_deleting_a_row_in_use_is_refused_with_a_message(admin_client, cat, key, get_obj):
    StudentFactory(section=cat.section, term=cat.term)
    obj = get_obj(cat)
    counts = {k: rows(k, cat.institute) for k in CATALOGUE_KEYS}
    response = admin_client.post(reverse("enrollment:delete", args=[key, obj.pk]), follow=True)
    assert response.status_code == 200
    assert f"{obj} is still in use" in response.content.decode()
    assert KINDS[key].model.objects.filter(pk=obj.pk).exists()
    assert {k: rows(k, cat.institute) for k in CATALOGUE_KEYS} == counts
    assert not AuditEvent.objects.exists()


def test_deleting_a_programme_with_sections_keeps_the_sections(admin_client, cat):
    admin_client.post(reverse("enrollment:delete", args=["programmes", cat.programme.pk]))
    assert Programme.objects.filter(pk=cat.programme.pk).exists()
    assert ClassSection.objects.filter(pk=cat.section.pk).exists()


# ------------------------------------------------------------------------------------------- bad input

BAD_INPUT = [
    # (key, data, field with the error (None: the whole form), part of the message)
    ("programmes", lambda c: {"code": "CS", "name": "Another CS", "years": 3}, None, "already exists"),
    ("programmes", lambda c: {"code": "EE", "name": "Electrical", "years": 0}, "years", "greater than or equal to 1"),
    ("programmes", lambda c: {"code": "", "name": "Electrical", "years": 3}, "code", "required"),
    ("sections", lambda c: {"programme": c.programme.pk, "year": 4, "name": "B"}, "year", "CS runs for 3 years"),
    ("sections", lambda c: {"programme": c.programme.pk, "year": 2, "name": "A"}, None, "already exists"),
    ("sections", lambda c: {"programme": c.foreign_programme.pk, "year": 1, "name": "B"}, "programme", "valid choice"),
    (
        "terms",
        lambda c: {"academic_year": "2027-28", "semester": 1, "starts_on": "2027-12-20", "ends_on": "2027-07-01"},
        "ends_on",
        "must end after it starts",
    ),
    (
        "terms",
        lambda c: {"academic_year": "2027-28", "semester": 1, "starts_on": "2027-07-01", "ends_on": "2027-07-01"},
        "ends_on",
        "must end after it starts",
    ),
    (
        "terms",
        lambda c: {"academic_year": "2026-27", "semester": 1, "starts_on": "2026-07-01", "ends_on": "2026-12-01"},
        None,
        "already exists",
    ),
    (
        "terms",
        lambda c: {"academic_year": "2027-28", "semester": 1, "starts_on": "2027-02-30", "ends_on": "2027-07-01"},
        "starts_on",
        "valid date",
    ),
    (
        "subjects",
        lambda c: {"programme": c.programme.pk, "year": 1, "code": "CS201", "name": "Dup", "weekly_lessons": 3},
        None,
        "already exists",
    ),
    (
        "subjects",
        lambda c: {"programme": c.foreign_programme.pk, "year": 1, "code": "X1", "name": "X", "weekly_lessons": 3},
        "programme",
        "valid choice",
    ),
    (
        "subjects",
        lambda c: {"programme": c.programme.pk, "year": 1, "code": "X1", "name": "X", "weekly_lessons": 41},
        "weekly_lessons",
        "less than or equal to 40",
    ),
    ("topics", lambda c: {"subject": c.subject.pk, "order": 1, "title": "Again"}, None, "already exists"),
    ("topics", lambda c: {"subject": c.foreign_subject.pk, "order": 1, "title": "X"}, "subject", "valid choice"),
    ("topics", lambda c: {"subject": c.subject.pk, "order": 2, "title": ""}, "title", "required"),
    ("prerequisites", lambda c: {"subject": c.subject.pk, "requires": c.subject.pk}, "requires", "cannot require"),
    ("prerequisites", lambda c: {"subject": c.algorithms.pk, "requires": c.subject.pk}, None, "already exists"),
    (
        "prerequisites",
        lambda c: {"subject": c.subject.pk, "requires": c.foreign_subject.pk},
        "requires",
        "valid choice",
    ),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(
    ("key", "data", "field", "message"),
    BAD_INPUT,
    ids=[f"{k}-{f or 'form'}-{i}" for i, (k, _d, f, _m) in enumerate(BAD_INPUT)],
)
def test_bad_input_gets_a_clear_error_and_creates_nothing(admin_client, cat, key, data, field, message, htmx):
    counts = {k: rows(k, cat.institute) for k in CATALOGUE_KEYS}
    response = admin_client.post(list_url(key), data(cat), headers=HTMX if htmx else {})
    assert response.status_code == 200
    assert message in form_errors(response, field)
    content = response.content.decode()
    assert message in content.replace("&#x27;", "'")
    assert "Constraint “" not in content  # never the database's wording
    assert ("<html" in content) is not htmx
    assert {k: rows(k, cat.institute) for k in CATALOGUE_KEYS} == counts
    assert not AuditEvent.objects.exists()


BAD_EDITS = [
    ("programmes", lambda c: c.programme, lambda c: {"code": "CS", "name": "Computing", "years": 13}, "years"),
    ("subjects", lambda c: c.intro, lambda c: {**_subject(c.intro), "code": "CS201"}, None),
    ("terms", lambda c: c.term, lambda c: {**_term(c.term), "ends_on": "2026-06-01"}, "ends_on"),
    (
        "prerequisites",
        lambda c: c.prerequisite,
        lambda c: {"subject": c.algorithms.pk, "requires": c.algorithms.pk},
        "requires",
    ),
    ("sections", lambda c: c.section, lambda c: {"programme": c.programme.pk, "year": 9, "name": "A"}, "year"),
    ("topics", lambda c: c.topic, lambda c: {"subject": c.foreign_subject.pk, "order": 1, "title": "X"}, "subject"),
]


def _subject(s):
    return {"programme": s.programme_id, "year": s.year, "code": s.code, "name": s.name, "weekly_lessons": 3}


def _term(t):
    return {"academic_year": t.academic_year, "semester": t.semester, "starts_on": t.starts_on, "ends_on": t.ends_on}


@pytest.mark.parametrize(("key", "get_obj", "data", "field"), BAD_EDITS, ids=[k for k, *_r in BAD_EDITS])
def test_bad_edit_gets_an_error_and_changes_nothing(admin_client, cat, key, get_obj, data, field):
    obj = get_obj(cat)
    before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    response = admin_client.post(reverse("enrollment:edit", args=[key, obj.pk]), data(cat))
    assert response.status_code == 200
    assert form_errors(response, field)
    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} == before
    assert not AuditEvent.objects.exists()


def test_the_same_code_is_fine_in_another_institute(admin_client, cat, other_institute, other_admin):
    ProgrammeFactory(institute=other_institute, code="EE", name="Hilltop Electrical")
    response = admin_client.post(list_url("programmes"), {"code": "EE", "name": "Electrical", "years": 4})
    assert response.status_code == 302
    assert Programme.objects.filter(code="EE").count() == 2
    # and the other way round, through the service: Hilltop may have its own "CS" and "CS201"
    hx_cs = services.catalogue_save(
        kind=KINDS["programmes"],
        instance=Programme(code="CS", name="Hilltop CS", years=3),
        institute=other_institute,
        actor=other_admin,
    )
    services.catalogue_save(
        kind=KINDS["subjects"],
        instance=Subject(programme=hx_cs, year=1, code="CS201", name="Hilltop DS"),
        institute=other_institute,
        actor=other_admin,
    )
    assert Subject.objects.filter(code="CS201").count() == 2


# ------------------------------------------------------------------------------------------- services


def test_service_catches_the_institute_wide_unique_code(cat, admin_user):
    with pytest.raises(ValidationError) as exc:
        services.catalogue_save(
            kind=KINDS["programmes"],
            instance=Programme(code="CS", name="Duplicate", years=3),
            institute=cat.institute,
            actor=admin_user,
        )
    assert "already exists" in str(exc.value)
    assert Programme.objects.filter(code="CS").count() == 1
    assert not AuditEvent.objects.exists()


def test_service_refuses_a_row_of_another_institute(cat, other_admin, other_institute):
    cat.subject.name = "Hijacked"
    with pytest.raises(ValidationError):
        services.catalogue_save(
            kind=KINDS["subjects"], instance=cat.subject, institute=other_institute, actor=other_admin
        )
    with pytest.raises(ValidationError):
        services.catalogue_delete(
            kind=KINDS["topics"], instance=cat.topic, institute=other_institute, actor=other_admin
        )
    cat.subject.refresh_from_db()
    assert cat.subject.name == "Data Structures" and Topic.objects.filter(pk=cat.topic.pk).exists()
    assert not AuditEvent.objects.exists()


def test_service_checks_one_row_rules_without_a_form(cat, admin_user):
    with pytest.raises(ValidationError) as exc:
        services.catalogue_save(
            kind=KINDS["prerequisites"],
            instance=Prerequisite(subject=cat.intro, requires=cat.intro),
            institute=cat.institute,
            actor=admin_user,
        )
    assert "requires" in exc.value.message_dict
    term = Term(
        academic_year="2030-31", semester=1, starts_on=datetime.date(2030, 7, 1), ends_on=datetime.date(2030, 1, 1)
    )
    with pytest.raises(ValidationError) as exc:
        services.catalogue_save(kind=KINDS["terms"], instance=term, institute=cat.institute, actor=admin_user)
    assert "ends_on" in exc.value.message_dict
    assert not AuditEvent.objects.exists()


# ------------------------------------------------------------------------------------------- current term


def test_a_new_current_term_unsets_the_previous_one(admin_client, cat):
    assert cat.term.is_current
    response = admin_client.post(
        list_url("terms"),
        {
            "academic_year": "2026-27",
            "semester": 2,
            "starts_on": "2027-01-05",
            "ends_on": "2027-05-30",
            "is_current": "on",
        },
    )
    assert response.status_code == 302
    cat.term.refresh_from_db()
    new = Term.objects.get(institute=cat.institute, semester=2)
    assert new.is_current and not cat.term.is_current
    assert list(Term.objects.filter(institute=cat.institute, is_current=True)) == [new]


def test_editing_a_term_to_current_unsets_the_previous_one(admin_client, cat):
    old = TermFactory(institute=cat.institute, academic_year="2025-26", is_current=False)
    data = {**_term(old), "is_current": "on"}
    assert admin_client.post(reverse("enrollment:edit", args=["terms", old.pk]), data).status_code == 302
    old.refresh_from_db()
    cat.term.refresh_from_db()
    assert old.is_current and not cat.term.is_current


def test_current_term_of_another_institute_is_untouched(admin_client, cat, other_institute):
    theirs = TermFactory(institute=other_institute, is_current=True)
    admin_client.post(
        list_url("terms"),
        {
            "academic_year": "2026-27",
            "semester": 2,
            "starts_on": "2027-01-05",
            "ends_on": "2027-05-30",
            "is_current": "on",
        },
    )
    theirs.refresh_from_db()
    assert theirs.is_current


def test_a_refused_current_term_leaves_the_previous_one_current(admin_client, cat):
    # Same year and semester as the existing term: refused by the service after it un-set the current term,
    # so the whole write must roll back.
    response = admin_client.post(
        list_url("terms"),
        {
            "academic_year": "2026-27",
            "semester": 1,
            "starts_on": "2026-08-01",
            "ends_on": "2026-12-01",
            "is_current": "on",
        },
    )
    assert response.status_code == 200 and "already exists" in form_errors(response, None)
    cat.term.refresh_from_db()
    assert cat.term.is_current and Term.objects.filter(institute=cat.institute).count() == 1


# ------------------------------------------------------------------------------------------- htmx


def test_htmx_post_returns_the_fragment_with_a_fresh_form(admin_client, cat):
    response = admin_client.post(
        list_url("programmes"), {"code": "EE", "name": "Electrical Engineering", "years": 4}, headers=HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content and content.lstrip().startswith('<div id="catalogue-section">')
    assert "Added programme EE – Electrical Engineering" in content
    assert "EE" in content and not response.context["form"].is_bound
    assert AuditEvent.objects.filter(action="catalogue.programmes.created").count() == 1


def test_htmx_search_returns_the_fragment(admin_client, cat):
    response = admin_client.get(list_url("subjects"), {"q": "Algo"}, headers=HTMX)
    content = response.content.decode()
    assert "<html" not in content
    assert "Algorithms" in content and "Data Structures" not in content


def test_list_filters_by_parent(admin_client, cat):
    other = ProgrammeFactory(institute=cat.institute, code="EE", name="Electrical")
    SubjectFactory(programme=other, code="EE101", name="Circuits")
    content = admin_client.get(list_url("subjects"), {"programme": other.pk}).content.decode()
    assert "Circuits" in content and "Data Structures" not in content


# ------------------------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        ("sections", ["programme"]),
        ("subjects", ["programme"]),
        ("topics", ["subject"]),
        ("prerequisites", ["subject", "requires"]),
    ],
)
def test_forms_offer_only_this_institutes_choices(admin_client, cat, key, fields):
    response = admin_client.get(list_url(key))
    form = response.context["form"]
    for name in fields:
        offered = set(form.fields[name].queryset)
        assert offered and all(obj.institute_id == cat.institute.pk for obj in offered)
    content = response.content.decode()
    assert "Hilltop" not in content and "HX101" not in content


# ------------------------------------------------------------------------------------------- query counts


def _make_rows(key, institute, n):
    """n rows of a kind, each pointing at its own parents, so a missing select_related would show."""
    for i in range(n):
        if key == "programmes":
            ProgrammeFactory(institute=institute)
        elif key == "sections":
            ClassSectionFactory(programme=ProgrammeFactory(institute=institute))
        elif key == "terms":
            TermFactory(institute=institute, academic_year=f"{2000 + i}-{i % 100:02d}", is_current=False)
        elif key == "subjects":
            SubjectFactory(programme=ProgrammeFactory(institute=institute))
        elif key == "topics":
            TopicFactory(subject=SubjectFactory(programme=ProgrammeFactory(institute=institute)))
        elif key == "prerequisites":
            programme = ProgrammeFactory(institute=institute)
            PrerequisiteFactory(
                subject=SubjectFactory(programme=programme), requires=SubjectFactory(programme=programme)
            )


# session, user, the user's institute (page header), COUNT and SELECT for the page,
# plus one query per choice field of the add form.
CATALOGUE_QUERIES = {"programmes": 5, "sections": 6, "terms": 5, "subjects": 6, "topics": 6, "prerequisites": 7}


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("key", CATALOGUE_KEYS)
def test_catalogue_list_query_count_does_not_grow(client, admin_user, key, size, django_assert_num_queries):
    _make_rows(key, admin_user.institute, size)
    client.force_login(admin_user)
    with django_assert_num_queries(CATALOGUE_QUERIES[key]):
        response = client.get(list_url(key))
    assert len(response.context["rows"]) == size
