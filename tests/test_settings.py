"""Configuration: production refuses to start without a secret and passes the deploy checks."""

import os
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

        assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
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
