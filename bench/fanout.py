"""Fan-out benchmark: an admin posts an announcement to 5,000 guardians.

    .venv/bin/python bench/fanout.py [--guardians 5000] [--timeout 120]

Measures two things separately:

* request_ms: the POST to /announcements/manage/ through the Django test client, as an admin. The request
  only saves the announcement and enqueues the fan-out; the SQL it runs is counted to prove it.
* deliver_s: from the start of that request until every guardian has their Notification row, with the
  Celery tasks running in a real worker (celery.contrib.testing.worker, threads) on the configured broker:
  Redis when REDIS_URL is set, else in-memory.

The naive way (one INSERT per recipient inside the request) is timed on a sample and extrapolated, for
comparison. Database: PostgreSQL when DATABASE_URL is set, else a throwaway SQLite file, migrated fresh.
Targets: request < 200 ms, delivery < 10 s. The last line is `request_ms=<x> deliver_s=<y>`.
"""

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_REQUEST_MS = 200
TARGET_DELIVER_S = 10


def configure() -> str | None:
    """Environment before Django loads: test settings, real queue (not eager), a database. Returns a temp dir."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    if os.environ.get("DATABASE_URL"):
        return None
    tmp = tempfile.mkdtemp(prefix="campus-fanout-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    return tmp


def build(n: int):
    """One institute, an admin and n guardians (bulk inserts, one password hash for all)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import AdminProfile, GuardianProfile, Institute, Role, User

    run = uuid.uuid4().hex[:8]
    institute = Institute.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    password = make_password("bench-password")
    admin = User.objects.create(
        institute=institute,
        role=Role.ADMIN,
        username=f"admin-{run}",
        email=f"admin-{run}@bench.test",
        full_name="Bench Admin",
        password=password,
    )
    AdminProfile.objects.create(institute=institute, user=admin, title="Registrar")
    guardians = User.objects.bulk_create(
        [
            User(
                institute=institute,
                role=Role.GUARDIAN,
                username=f"g{i}-{run}",
                email=f"g{i}-{run}@bench.test",
                full_name=f"Guardian {i}",
                phone=f"+1555{i:07d}",
                password=password,
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    GuardianProfile.objects.bulk_create(
        [GuardianProfile(institute=institute, user=g) for g in guardians], batch_size=1000
    )
    return institute, admin, guardians


def wait_for(count_fn, expected: int, timeout: float) -> float | None:
    """Poll until count_fn() reaches expected; returns the monotonic time it did, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_fn() >= expected:
            return time.monotonic()
        time.sleep(0.02)
    return None


def post_announcement(client, *, title: str, role: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = {"title": title, "body": "Parents' evening is on **Thursday** at 6 pm.", "audience": "role"}
    data["target_role"] = role
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post("/announcements/manage/", data)
        elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 302:
        raise SystemExit(f"posting failed: {response.status_code}\n{response.content.decode()[:2000]}")
    return elapsed_ms, len(queries.captured_queries)


def naive_sample(institute, guardians, sample: int) -> float:
    """The naive fan-out: one Notification INSERT per recipient. Seconds for `sample` recipients."""
    from utils.models import Notification, NotificationKind

    people = guardians[:sample]
    started = time.perf_counter()
    for person in people:
        Notification.objects.create(
            institute=institute,
            recipient=person,
            kind=NotificationKind.ANNOUNCEMENT,
            title="Naive",
            body="One INSERT per person",
            dedupe_key="bench:naive",
        )
    elapsed = time.perf_counter() - started
    Notification.objects.filter(dedupe_key="bench:naive").delete()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for delivery")
    parser.add_argument("--sample", type=int, default=500, help="recipients for the naive comparison")
    parser.add_argument("--workers", type=int, default=4, help="worker threads")
    args = parser.parse_args()

    tmp = configure()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import Role
    from announcements.models import Announcement
    from config.celery_app import app
    from utils.models import Notification

    setup_test_environment()  # the test client's host, in-memory mail
    logging.getLogger("celery").setLevel(logging.WARNING)
    app.conf.task_always_eager = False
    polling = ""
    if app.conf.broker_url.startswith("memory://"):
        # The in-memory stand-in polls its queues (1 s by default); Redis pushes. Poll like a pushing broker
        # would deliver, so the figure is the service's time and not the stand-in's sleep between polls.
        app.conf.broker_transport_options = {"polling_interval": 0.01}
        polling = " (polling every 10 ms)"
    n = args.guardians
    try:
        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        migrate_s = time.perf_counter() - t
        t = time.perf_counter()
        institute, admin, guardians = build(n)
        build_s = time.perf_counter() - t
        vendor = connection.vendor
        print(f"database: {vendor} ({settings.DATABASES['default']['NAME']}); broker: {app.conf.broker_url}{polling}")
        print(f"setup: migrate {migrate_s:.1f} s, {n} guardians built in {build_s:.2f} s")

        from celery.contrib.testing.worker import start_worker
        from celery.signals import task_postrun, task_prerun

        spans: dict[str, list] = {}

        def _pre(task_id=None, task=None, **_kw):
            spans[task_id] = [task.name, time.monotonic(), None]

        def _post(task_id=None, **_kw):
            if task_id in spans:
                spans[task_id][2] = time.monotonic()

        task_prerun.connect(_pre, weak=False)
        task_postrun.connect(_post, weak=False)

        t = time.perf_counter()
        with start_worker(
            app,
            pool="threads",
            concurrency=args.workers,
            perform_ping_check=False,
            shutdown_timeout=30,
            loglevel="WARNING",
        ):
            print(f"worker: {args.workers} threads, started in {time.perf_counter() - t:.1f} s")
            client = Client()
            client.force_login(admin)
            client.get("/announcements/manage/")  # warm the page, templates and URL resolvers

            # Warm-up post to the one admin: loads the code paths the worker and the request use.
            _ms, _q = post_announcement(client, title="Warm-up", role=Role.ADMIN)
            warm = Announcement.objects.get(institute=institute, title="Warm-up")
            warm_notes = Notification.objects.filter(dedupe_key=f"announcement:{warm.pk}")
            if wait_for(warm_notes.count, 1, 30) is None:
                raise SystemExit("the worker did not deliver the warm-up announcement")

            started = time.monotonic()
            request_ms, request_queries = post_announcement(client, title="Parents' evening", role=Role.GUARDIAN)
            announcement = Announcement.objects.get(institute=institute, title="Parents' evening")
            key = f"announcement:{announcement.pk}"
            at_response = Notification.objects.filter(dedupe_key=key).count()
            fanned = wait_for(
                lambda: Announcement.objects.filter(pk=announcement.pk, fanned_out_at__isnull=False).count(),
                1,
                args.timeout,
            )
            done = wait_for(lambda: Notification.objects.filter(dedupe_key=key).count(), n, args.timeout)
            if done is None:
                have = Notification.objects.filter(dedupe_key=key).count()
                raise SystemExit(f"timed out after {args.timeout} s with {have}/{n} notifications")
            deliver_s = done - started

        per_s = n / deliver_s
        tasks: dict[str, list] = {}
        for name, begin, end in spans.values():
            if end is not None and begin >= started:
                tasks.setdefault(name.rsplit(".", 1)[-1], []).append((begin - started, end - started))
        naive_s = naive_sample(institute, guardians, min(args.sample, n))
        naive_total_s = naive_s * n / min(args.sample, n)

        print()
        print(f"{'':32}{'measured':>14}{'target':>12}")
        print(f"{'request (save + enqueue)':32}{request_ms:>11.1f} ms{TARGET_REQUEST_MS:>9} ms")
        print(f"{'  SQL queries in the request':32}{request_queries:>14}")
        print(f"{'  notifications at response':32}{at_response:>14}")
        if fanned is not None:
            print(f"{'fan-out committed, batches queued':32}{fanned - started:>12.2f} s")
        print(f"{f'all {n} notifications written':32}{deliver_s:>12.2f} s{TARGET_DELIVER_S:>10} s")
        print(f"{'  throughput':32}{per_s:>10.0f} /s")
        for name, runs in sorted(tasks.items()):
            busy = sum(end - begin for begin, end in runs)
            first, last = min(b for b, _e in runs), max(e for _b, e in runs)
            print(
                f"  {name}: {len(runs)} runs, {busy:.2f} s busy, {busy / len(runs) * 1000:.0f} ms each, "
                f"from {first:.2f} s to {last:.2f} s"
            )
        print()
        print(f"naive: one INSERT per recipient, {min(args.sample, n)} in {naive_s:.2f} s")
        print(f"  extrapolated to {n}: {naive_total_s:.2f} s ({n / naive_total_s:.0f} /s)")
        inline_ms = naive_total_s * 1000
        print(f"  done inline, the request would take ~{inline_ms:.0f} ms: {inline_ms / request_ms:.0f}x ours")
        speedup = naive_total_s / deliver_s
        print(f"  all {n} written: naive {naive_total_s:.2f} s vs batched {deliver_s:.2f} s = {speedup:.1f}x")
        ok = request_ms < TARGET_REQUEST_MS and deliver_s < TARGET_DELIVER_S
        print(
            f"targets {'met' if ok else 'MISSED'}: request {request_ms / TARGET_REQUEST_MS:.2f} of budget, "
            f"delivery {deliver_s / TARGET_DELIVER_S:.2f} of budget"
        )
        print(f"request_ms={request_ms:.1f} deliver_s={deliver_s:.2f}")
        return 0
    finally:
        connection.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
