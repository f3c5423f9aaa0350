"""Faults, for real: a broker down at commit time, workers killed mid-send, the mail server down, the cache's Redis
down, database connections terminated. Each scenario counts what people should have received against what the
mail server acknowledged, and the pages' 5xx answers while the fault lasted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/faults.py [--guardians 150]

Needs a local PostgreSQL (the worker processes share the bench's database: a fresh one, dropped at the end)
and `redis-server` (two throwaway servers: the broker and the cache). The web side is Django's test client in
this process; workers and beat are real `celery` processes (prefork, 2 children) killed with real signals;
the mail server is aiosmtpd on loopback. Prints one line per scenario, then
`scenarios=<n> lost=<0> duplicated=<0> errors_5xx=<k>`.
"""

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._postgres import fresh_database, is_postgres  # noqa: E402
from tests.servers import CeleryProcess, MailServer, RedisServer, celery_env, wait_for  # noqa: E402

LEASE, GRACE, SWEEP, RETRY = 3, 1, 1, 1  # seconds: short, so that recovery fits in a bench run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=150, help="guardians who get each announcement")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a scenario's mail")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(url):
        sys.exit("bench/faults.py needs DATABASE_URL to name a local PostgreSQL (workers share its database).")
    label, cleanup = fresh_database(url, "campus_bench_faults")
    broker, cache_redis = RedisServer(), RedisServer()
    broker.start()
    cache_redis.start()
    os.environ.update(
        # The web side: production code paths with static files from the source folders (no collectstatic).
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CELERY_TASK_ALWAYS_EAGER="false",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        REDIS_URL=cache_redis.url,
        CELERY_BROKER_URL=broker.url,
        CONN_MAX_AGE="60",  # persistent connections, as production runs: a terminated one must not give a 500
        OUTBOX_GRACE_SECONDS=str(GRACE),
    )
    try:
        return Bench(args, label, broker, cache_redis).run()
    finally:
        broker.stop()
        cache_redis.stop()
        cleanup(False)


class Bench:
    def __init__(self, args, label, broker, cache_redis):
        self.args, self.label, self.broker, self.cache_redis = args, label, broker, cache_redis
        self.folder = Path(tempfile.mkdtemp(prefix="campus-bench-faults-"))
        self.processes = []
        self.results = []

    # ------------------------------------------------------------ setup

    def run(self) -> int:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.school = build_school(self.args.guardians)
        self.mail = MailServer()
        self.mail.start()
        print(f"database: {self.label}; {self.args.guardians} guardians; lease {LEASE} s, sweep every {SWEEP} s")
        try:
            self.scenario_broker_down_at_commit()
            self.scenario_worker_killed("worker_sigkill_mid_send", signal.SIGKILL)
            self.scenario_worker_killed("worker_sigterm_mid_send", signal.SIGTERM)
            self.scenario_mail_server_down()
            self.scenario_cache_redis_down()
            self.scenario_database_connections_terminated()
        finally:
            for process in self.processes:
                process.kill()
            self.mail.stop()
        lost = sum(r["lost"] for r in self.results)
        duplicated = sum(r["duplicated"] for r in self.results)
        errors = sum(r["errors_5xx"] for r in self.results)
        print(f"scenarios={len(self.results)} lost={lost} duplicated={duplicated} errors_5xx={errors}")
        return 0 if lost == duplicated == 0 else 1

    def env(self):
        from django.db import connection

        s = connection.settings_dict
        return celery_env(
            database_url=f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
            broker_url=self.broker.url,
            mail_url=self.mail.url,
            OUTBOX_GRACE_SECONDS=GRACE,
            DISPATCH_SWEEP_SECONDS=SWEEP,
            NOTIFY_LEASE_SECONDS=LEASE,
            NOTIFY_RETRY_SECONDS=RETRY,
        )

    def start(self, kind="worker"):
        n = len(self.processes)
        if kind == "beat":
            args = ("-S", "celery.beat:PersistentScheduler", "-s", str(self.folder / f"beat{n}"))
        else:
            args = ("-Q", "default,long", "-c", "2", "--pool", "prefork", "-n", f"bench{n}@%h")
        process = CeleryProcess(kind, self.env(), self.folder / f"{kind}{n}.log", *args).start()
        self.processes.append(process)
        if kind == "worker":
            process.wait_ready()
        return process

    def stop_all(self):
        for process in self.processes:
            process.kill()
        self.processes = []

    # ------------------------------------------------------------ counting

    def client(self, user):
        from django.test import Client

        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client

    def announce(self, title, errors):
        from django.urls import reverse

        response = self.client(self.school["admin"]).post(
            reverse("announcements:manage"),
            {"title": title, "body": "Details inside.", "audience": "role", "target_role": "guardian", "urgent": "on"},
        )
        errors.append(response.status_code >= 500)
        if response.status_code != 302:
            sys.exit(f"posting the announcement answered {response.status_code}: the bench is broken, not the app")
        return self.school["guardian_emails"]

    def wait_and_count(self, expected: Counter) -> tuple[int, int]:
        """Wait until everyone expected has their mail (or the timeout), then a few more sweeps; count.

        `expected` holds (address, kind) pairs; a mail's kind comes from its subject (see `kind_of`).
        """

        def received() -> Counter:
            return Counter((to, kind_of(m["subject"])) for m in self.mail.accepted for to in m["to"])

        with contextlib.suppress(TimeoutError):
            wait_for(lambda: all(received()[key] >= 1 for key in expected), timeout=self.args.timeout, what="mail")
        time.sleep(LEASE + 2 * SWEEP)  # past another lease and several sweeps: nothing more may arrive
        got = received()
        lost = sum(1 for key in expected if got[key] == 0)
        duplicated = sum(n - 1 for key, n in got.items() if n > 1 and key in expected)
        return lost, duplicated

    def record(self, name, expected, lost, duplicated, errors, started, **extra):
        row = {
            "scenario": name,
            "expected": len(expected),
            "lost": lost,
            "duplicated": duplicated,
            "errors_5xx": sum(errors),
            "seconds": round(time.monotonic() - started, 1),
            **extra,
        }
        self.results.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    # ------------------------------------------------------------ scenarios

    def scenario_broker_down_at_commit(self):
        """Writes while the broker is down: an announcement, a register with absences, password resets."""
        from django.urls import reverse

        from attendance.tests.test_views import form_data, register_url

        started, errors = time.monotonic(), []
        self.broker.stop()
        title = "Broker down: school closed"
        expected = Counter({(email, title): 1 for email in self.announce(title, errors)})
        klass = self.school["klass"]
        response = self.client(self.school["teacher"]).post(
            register_url(klass), form_data(klass, **{f"s{i}": "absent" for i in range(len(klass["students"]))})
        )
        errors.append(response.status_code >= 500)
        for email in self.school["absent_guardian_emails"]:
            expected[(email, "absence")] = 1  # urgent: an absence alert goes by email
        from django.test import Client

        resets = self.school["reset_emails"]
        for email in resets:
            answer = Client(raise_request_exception=False).post(reverse("accounts:password_reset"), {"email": email})
            errors.append(answer.status_code >= 500)
            expected[(email, "reset")] = 1
        from utils.models import OutboxMessage

        waiting = OutboxMessage.objects.count()
        down_for = time.monotonic() - started
        self.broker.start()
        self.start("worker")
        self.start("beat")
        lost, duplicated = self.wait_and_count(expected)
        self.stop_all()
        self.record(
            "broker_down_at_commit",
            expected,
            lost,
            duplicated,
            errors,
            started,
            outbox_rows=waiting,
            broker_down_s=round(down_for, 1),
        )

    def scenario_worker_killed(self, name, sig):
        from utils.models import Delivery, DeliveryStatus

        started, errors = time.monotonic(), []
        worker = self.start("worker")
        self.start("beat")
        self.mail.hold_after(max(1, self.args.guardians // 3))
        title = f"{name}: sports day moved"
        expected = Counter({(email, title): 1 for email in self.announce(title, errors)})
        wait_for(lambda: self.mail.held() >= 1, timeout=60, what="a send in flight")
        wait_for(lambda: Delivery.objects.filter(status=DeliveryStatus.SENDING).exists(), timeout=10, what="a claim")
        worker.kill(sig)
        self.mail.release()
        in_flight = Delivery.objects.filter(status=DeliveryStatus.SENDING).count()
        self.start("worker")
        lost, duplicated = self.wait_and_count(expected)
        self.stop_all()
        self.record(name, expected, lost, duplicated, errors, started, in_flight_at_kill=in_flight)
        self.mail.handler.held = 0

    def scenario_mail_server_down(self):
        started, errors = time.monotonic(), []
        self.mail.stop()
        self.start("worker")
        self.start("beat")
        title = "Mail server down: exam timetable"
        expected = Counter({(email, title): 1 for email in self.announce(title, errors)})
        from utils.models import Delivery, DeliveryStatus

        wait_for(
            lambda: Delivery.objects.filter(notification__title=title, attempts__gte=1).exists(),
            timeout=60,
            what="a refused attempt",
        )
        time.sleep(2)
        retried = Delivery.objects.filter(notification__title=title, status=DeliveryStatus.QUEUED, attempts__gte=1)
        waiting = retried.count()
        self.mail = MailServer(port=self.mail.port)  # back, on the same address
        self.mail.start()
        lost, duplicated = self.wait_and_count(expected)
        self.stop_all()
        self.record("mail_server_down", expected, lost, duplicated, errors, started, retried_while_down=waiting)

    def scenario_cache_redis_down(self):
        """Pages of every role while the cache's Redis is stopped, then after it returns."""
        started, errors = time.monotonic(), []
        pages = self.school["pages"]
        clients = {role: self.client(user) for role, user in self.school["people"].items()}
        self.cache_redis.stop()
        requests = 0
        for _round in range(3):
            for role, client in clients.items():
                for url in pages[role]:
                    errors.append(client.get(url).status_code >= 500)
                    requests += 1
        self.cache_redis.start()
        time.sleep(1.1)  # the cache's retry window
        for role, client in clients.items():
            for url in pages[role]:
                errors.append(client.get(url).status_code >= 500)
                requests += 1
        self.record("cache_redis_down", Counter(), 0, 0, errors, started, requests=requests)

    def scenario_database_connections_terminated(self):
        """Every connection to the database is terminated (a failover, a restart of the pooler) while the app
        server (uvicorn, persistent connections) and the worker hold theirs; then pages and a fan-out."""
        from django.db import connection

        from tests.asgi_server import AsgiServer

        started, errors = time.monotonic(), []
        self.start("worker")
        self.start("beat")
        pages = self.school["pages"]
        with AsgiServer() as server:
            browsers = {role: WebClient(server.url, user) for role, user in self.school["people"].items()}
            for role, browser in browsers.items():  # open the server's persistent connections
                for url in pages[role]:
                    if browser.get(url) not in (200, 302):
                        sys.exit(f"{url} as {role} does not answer 200 before the fault: the bench is broken")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                terminated = cursor.fetchone()[0]
            requests = 0
            for role, browser in browsers.items():
                for url in pages[role]:
                    errors.append(browser.get(url) >= 500)
                    requests += 1
            title = "After the failover: parents evening"
            status = browsers["admin"].post(
                "/announcements/manage/",
                {"title": title, "body": "Details.", "audience": "role", "target_role": "guardian", "urgent": "on"},
            )
            errors.append(status >= 500)
            requests += 1
        expected = Counter({(email, title): 1 for email in self.school["guardian_emails"]})
        lost, duplicated = self.wait_and_count(expected)
        self.stop_all()
        self.record(
            "database_connections_terminated",
            expected,
            lost,
            duplicated,
            errors,
            started,
            terminated=terminated,
            requests=requests,
        )


class WebClient:
    """A signed-in browser over real HTTP: a session cookie, and the CSRF cookie and token the pages hand out."""

    def __init__(self, base: str, user):
        from tests.asgi_server import session_cookie

        self.base, self.cookie, self.csrf = base, session_cookie(user), ""

    def _open(self, request) -> int:
        cookies = [self.cookie] + ([f"csrftoken={self.csrf}"] if self.csrf else [])
        request.add_header("Cookie", "; ".join(cookies))
        try:
            with urllib.request.build_opener(_NoRedirect()).open(request, timeout=30) as response:
                headers, status = response.headers, response.status
        except urllib.error.HTTPError as exc:
            headers, status = exc.headers, exc.code
        for header in headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name == "csrftoken":
                self.csrf = rest.split(";", 1)[0]
        return status

    def get(self, path: str) -> int:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict) -> int:
        if not self.csrf:
            self.get(path)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")
        request.add_header("Referer", self.base + path)
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._open(request)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer to count, not a page to fetch


def kind_of(subject: str) -> str:
    """What a mail is, by its subject: a reset code, an absence alert, or an announcement (its title)."""
    subject = subject or ""
    if subject.startswith("Your Campus password reset code"):
        return "reset"
    if " was absent from " in subject:
        return "absence"
    return subject


def build_school(guardians: int) -> dict:
    """One institute: an admin, a teacher with a lesson today, students each with a guardian (with email)."""
    from datetime import time as clock

    from django.urls import reverse
    from django.utils import timezone

    from accounts.tests.factories import (
        AdminFactory,
        GuardianLinkFactory,
        InstituteFactory,
        StudentFactory,
        TeacherFactory,
    )
    from attendance.tests.test_views import register_url
    from enrollment.models import Enrollment
    from enrollment.tests.factories import ClassSectionFactory, ProgrammeFactory, SubjectFactory, TermFactory
    from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

    institute = InstituteFactory(name="Faults College", slug="faults")
    programme = ProgrammeFactory(institute=institute, code="CS", name="Computer Science", years=3)
    section = ClassSectionFactory(programme=programme, year=2, name="A")
    term = TermFactory(institute=institute)
    subject = SubjectFactory(programme=programme, year=2, code="CS201", name="Data Structures")
    admin = AdminFactory(institute=institute).user
    teacher = TeacherFactory(institute=institute).user
    students, emails = [], []
    for i in range(guardians):
        student = StudentFactory(section=section, term=term)
        link = GuardianLinkFactory(student=student, guardian__user__email=f"guardian{i}@example.test")
        emails.append(link.guardian.user.email)
        students.append(student)
    in_class = students[:5]
    for s in in_class:
        Enrollment.objects.create(institute=institute, student=s, subject=subject, term=term)
    slot = TimeSlotFactory(institute=institute, order=1, starts_at=clock(0, 0), ends_at=clock(0, 50))
    entry = TimetableEntryFactory(
        term=term,
        section=section,
        subject=subject,
        teacher=teacher.teacher_profile,
        room=RoomFactory(institute=institute, name="B-204"),
        slot=slot,
        day=timezone.localdate().weekday(),
    )
    klass = {"entry": entry, "date": timezone.localdate(), "students": in_class}
    student_user, guardian_user = students[0].user, students[0].guardian_links.first().guardian.user
    return {
        "admin": admin,
        "teacher": teacher,
        "klass": klass,
        "guardian_emails": emails,
        "absent_guardian_emails": emails[:5],
        "reset_emails": [s.user.email for s in students[5:10] if s.user.email],
        "people": {"admin": admin, "teacher": teacher, "student": student_user, "guardian": guardian_user},
        "pages": {
            "admin": [reverse("accounts:dashboard_admin"), reverse("announcements:manage"), reverse("accounts:home")],
            "teacher": [reverse("accounts:dashboard_teacher"), reverse("attendance:today"), register_url(klass)],
            "student": [reverse("timetable:mine"), reverse("announcements:feed"), reverse("accounts:home")],
            "guardian": [reverse("announcements:feed"), reverse("accounts:home")],
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
