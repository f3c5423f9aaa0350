"""Configuration: production refuses to start without a secret and passes the deploy checks."""

import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "campus.example.org",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage(
        "check",
        env_overrides={"DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "campus.example.org"},
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_services_named_in_the_environment_are_the_ones_in_use():
    """CI sets DATABASE_URL and REDIS_URL: then the suite must really run on them, never fall back."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert engine == "django.db.backends.postgresql"
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("select version()")
            assert "PostgreSQL" in cursor.fetchone()[0]
    else:
        assert engine == "django.db.backends.sqlite3"
    if os.environ.get("REDIS_URL"):
        from django.core.cache import cache

        assert settings.CACHES["default"]["BACKEND"] == "utils.cache.ResilientRedisCache"
        cache.set("ci-probe", "ok", 10)
        assert cache.get("ci-probe") == "ok"
        assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_security_headers_and_csp_nonce(client, db):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "default-src 'self'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in response.content  # the htmx script carries it
    assert response["X-Frame-Options"] == "DENY"
    assert b"cdn" not in response.content.lower()


def test_error_pages_are_friendly(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and b"We can't find that page" in response.content


# `make run` runs config.settings.local: it must show the product as users see it.
_LOCAL_PROBE = """
import json, sys
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
client = Client(HTTP_HOST="127.0.0.1")
missing = client.get("/no/such/page/")
icon = client.get("/favicon.ico")
icon_file = client.get(icon["Location"]) if icon.status_code == 302 else None
css = client.get(settings.STATIC_URL + "css/campus.css")
from django.templatetags.static import static
hashed = client.get(static("css/campus.css"))
print(json.dumps({
    "debug": settings.DEBUG,
    "missing": [missing.status_code, missing.content.decode()],
    "icon": [icon.status_code, icon.get("Location", "")],
    "icon_file": [icon_file.status_code, icon_file.get("Content-Type", "")] if icon_file else None,
    "hashed_url": static("css/campus.css"),
    "hashed": [hashed.status_code, hashed.get("Cache-Control", "")],
    "control_folder": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("control_folder", ""),
}))
"""


def _local_probe(tmp_path, **env_overrides):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "CELERY_BROKER_URL": "filesystem://",
        "REDIS_URL": "",
        **env_overrides,
    }
    result = _manage("shell", "-c", _LOCAL_PROBE, env_overrides={k: v for k, v in env.items() if v is not None})
    assert result.returncode == 0, result.stdout + result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_make_run_shows_friendly_pages_and_serves_static_files_the_production_way(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    probe = _local_probe(tmp_path)
    assert probe["debug"] is False
    status, page = probe["missing"]
    assert status == 404 and "We can't find that page" in page
    assert "URLconf" not in page and "django-admin/" not in page  # not Django's debug page listing the URLs
    # WhiteNoise serves the collected files: hashed names, cached for good.
    assert probe["hashed_url"] != "/static/css/campus.css" and probe["hashed"][0] == 200
    assert "max-age=315360000" in probe["hashed"][1] and "immutable" in probe["hashed"][1]
    assert probe["icon"][0] == 302 and probe["icon_file"] == [200, "image/x-icon"]
    assert probe["control_folder"] == str(ROOT / "var" / "celery" / "control")


def test_debug_is_an_opt_in(tmp_path):
    assert _local_probe(tmp_path, DEBUG="true")["debug"] is True


def test_a_403_logs_one_line_without_a_traceback(client, student_user, caplog):
    from django.urls import reverse

    client.force_login(student_user)
    with caplog.at_level("WARNING", logger="django.request"):
        response = client.get(reverse("accounts:dashboard_admin"))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.getMessage().startswith("Forbidden")
    from config.settings.base import LOGGING  # the formatter the web log uses

    formatter = logging.Formatter(LOGGING["formatters"]["plain"]["format"])
    assert "\n" not in formatter.format(record) and "Traceback" not in formatter.format(record)


def test_a_500_keeps_its_traceback_in_the_log():
    from utils.logging import ClientErrorsInOneLine

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal", (), sys.exc_info())
    record.status_code = 500
    assert ClientErrorsInOneLine().filter(record) and record.exc_info is not None


def test_every_page_skeleton_links_the_favicon_and_it_is_a_real_icon():
    skeletons = [p for p in (ROOT / "templates").rglob("*.html") if re.search(r"<head[ >]", p.read_text())]
    assert {p.name for p in skeletons} >= {"base.html", "print.html", "500.html"}
    for template in skeletons:
        text = template.read_text()
        assert "favicon.svg" in text and "favicon.ico" in text, template
    icon = (ROOT / "static" / "favicon.ico").read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00" and int.from_bytes(icon[4:6], "little") >= 1  # an ICO header


def test_favicon_ico_is_served(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]


def test_database_connections_are_health_checked():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['CONN_HEALTH_CHECKS'], d['CONN_MAX_AGE'] > 0)",
        env_overrides={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "campus.example.org",
        },
    )
    assert result.returncode == 0, result.stderr
    # Production keeps connections, so it must check them.
    assert result.stdout.splitlines()[-1].split() == ["True", "True"]


def _served(path, cookies):
    """One request through Django's own WSGI handler, as gunicorn makes it.

    The test client disconnects `close_old_connections` from `request_started` for its requests, and
    that receiver is where a kept connection is checked; here it runs as in production.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    environ = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="GET",
        HTTP_COOKIE="; ".join(f"{k}={v.value}" for k, v in cookies.items()),
    )
    status = []
    body = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        return int(status[0].split()[0]), b"".join(body)
    finally:
        body.close()  # sends request_finished, as a WSGI server does


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("health_checks", [True, False])
def test_a_terminated_database_connection_is_replaced_before_the_request(client, admin_user, health_checks):
    """Real fault on PostgreSQL: a second connection kills this one's backend between two requests."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    client.force_login(admin_user)
    saved = {k: connection.settings_dict[k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=health_checks)
    connection.close()  # the next connect reads the two settings above
    killer = connections.create_connection("default")
    try:
        assert _served("/announcements/", client.cookies)[0] == 200
        with connection.cursor() as cursor:
            cursor.execute("select pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with killer.cursor() as cursor:
            cursor.execute("select pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
        try:
            status = _served("/announcements/", client.cookies)[0]
        except Exception:  # the error page needs the session too: the server answers 500 itself
            status = 500
        if health_checks:
            assert status == 200
        else:  # what the setting prevents: the dead connection fails one request, then is dropped
            assert status == 500
            assert _served("/announcements/", client.cookies)[0] == 200
        with connection.cursor() as cursor:
            cursor.execute("select pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        killer.close()
        connection.settings_dict.update(saved)
        connection.close()
