"""Database access: an engine per server, short sessions, write transactions that serialise.

On SQLite a transaction that writes starts with `BEGIN IMMEDIATE`: it waits for the write lock
up front (busy timeout) instead of failing half-way when another writer got there first, and
reads keep running beside it (WAL), each statement on its own (no transaction to open). PostgreSQL needs nothing special: the unique indexes decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
#: Seconds a SQLite writer waits for the lock before giving up.
SQLITE_BUSY_TIMEOUT = 30
#: Rows per index SQLite's ANALYZE samples.
ANALYSIS_LIMIT = 1000


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self.writer = self.engine.execution_options(rollway_write=True)
        #: Sessions of write transactions (`write`); listeners attach to it.
        self.writes = sessionmaker(self.writer, expire_on_commit=False)

    async def reading(self, work: Callable[[Session], T]) -> T:
        """`work(session)` for a route on the event loop: inline on SQLite, where a read of the
        local file costs less than handing it to a worker thread (and the GIL hand-offs that
        come with threads make the latency tail), in a worker thread for a database across
        the network."""

        def call() -> T:
            with self.read() as session:
                return work(session)

        if self.engine.dialect.name == "sqlite":
            return call()
        return await run_in_threadpool(call)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success and rolled back on any exception."""
        with self.writes() as session, session.begin():
            yield session

    def analyze(self) -> None:
        """Refresh SQLite's table statistics, without which it picks an index over a backward
        scan of the primary key for `… IN (apps) ORDER BY seq DESC LIMIT n` and sorts every
        matching row. Bounded sampling keeps it quick on large tables; PostgreSQL's autovacuum
        does this by itself."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            conn.exec_driver_sql("ANALYZE")

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = url.removeprefix("sqlite:///")
    if path != url and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
        pool_size=20,
        max_overflow=40,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Reads run statement by statement: no BEGIN to send, nothing to roll back after.
        if conn.get_execution_options().get("rollway_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
