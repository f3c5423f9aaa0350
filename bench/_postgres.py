"""A throwaway PostgreSQL database for a benchmark, on the server DATABASE_URL names (local only)."""

import os
import sys
from urllib.parse import urlparse, urlunparse


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def fresh_database(url: str, name: str):
    """Drop and create `name` on that server and point DATABASE_URL at it; return (label, cleanup(keep))."""
    import psycopg2

    parsed = urlparse(url)
    if parsed.hostname not in ("localhost", "127.0.0.1", "::1", None, ""):
        sys.exit(f"The bench runs on a local PostgreSQL only, not on {parsed.hostname}.")
    admin = psycopg2.connect(
        dbname="postgres",
        user=parsed.username,
        password=parsed.password,
        host=parsed.hostname,
        port=parsed.port or 5432,
    )
    admin.autocommit = True

    def recreate(create: bool) -> None:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if create:
                cursor.execute(f"CREATE DATABASE {name}")

    recreate(True)
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{name}"))

    def cleanup(keep: bool) -> None:
        from django.db import connections

        connections.close_all()
        if not keep:
            recreate(False)
        admin.close()

    return f"PostgreSQL {parsed.hostname}:{parsed.port or 5432}/{name}", cleanup


def bench_database(name: str, prefix: str):
    """The bench's database: a fresh `name` on the PostgreSQL that DATABASE_URL names, else a SQLite file in
    a temporary folder. Points DATABASE_URL at it; returns (label, cleanup(keep))."""
    import tempfile
    from pathlib import Path

    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
        return fresh_database(url, name)
    folder = tempfile.TemporaryDirectory(prefix=prefix)
    path = Path(folder.name) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"

    def cleanup(keep: bool):
        from django.db import connections

        connections.close_all()
        folder.cleanup()

    return f"SQLite {path}", cleanup
