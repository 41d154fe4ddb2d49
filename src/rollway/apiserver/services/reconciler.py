"""Keeps in-flight deployment records in step with the engine, from startup on.

One background thread: every `interval` seconds each pending, running or waiting deployment is
compared with its workflow (`Backend.get`); a `pending` one older than the grace period, or
recorded before this process started (nothing here is submitting it), is submitted, or its
workflow adopted when an earlier attempt got that far; one with a step whose pod can never
start (an image the node cannot pull) is stopped and fails with that reason. Reads of the API
never wait on the engine: they read what this wrote.
Once an hour it also refreshes the database's planner statistics.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from ...errors import NotFound, RollwayError
from ...workflows.backends import Backend, NodeStatus, WorkflowStatus
from ..db import Database
from ..models import IN_FLIGHT, Deployment, utcnow
from . import status, submission

log = logging.getLogger("rollway.apiserver")
#: Seconds between refreshes of the database's query-planner statistics.
ANALYZE_EVERY = 3600


class Reconciler:
    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        interval: float,
        submit_grace: float,
        submit_deadline: float,
    ) -> None:
        self.db, self.backend = db, backend
        self.interval, self.submit_grace, self.submit_deadline = (
            interval, submit_grace, submit_deadline,
        )  # fmt: skip
        #: Records older than this were left by an earlier process: no request here submits them.
        self.started_at = utcnow()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rollway-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reconcile(self) -> None:
        """One pass over every in-flight deployment."""
        with self.db.read() as session:
            rows = session.execute(
                select(Deployment.id, Deployment.state, Deployment.workflow, Deployment.created_at)
                .where(Deployment.state.in_(IN_FLIGHT))
                .order_by(Deployment.seq)
            ).all()
        grace = timedelta(seconds=self.submit_grace)
        for deployment_id, state, workflow, created_at in rows:
            if self._stop.is_set():
                return
            try:
                if state == "pending" and workflow is None:
                    if created_at < self.started_at or utcnow() - created_at >= grace:
                        submission.submit(self.db, self.backend, deployment_id,
                                          deadline=self.submit_deadline, adopt=True)  # fmt: skip
                else:
                    self.refresh(deployment_id)
            except Exception as err:  # one bad record must not stop the others
                log.warning("reconciling %s failed: %s", deployment_id, type(err).__name__)

    def refresh(self, deployment_id: str) -> Deployment:
        """Read the deployment's workflow now and record what it says (writing only when that
        changes something: a write takes SQLite's one write lock)."""
        with self.db.read() as session:
            current = submission.load(session, deployment_id)
        workflow, lost = None, False
        if current.workflow:
            try:
                workflow = self.backend.get(current.workflow)
            except NotFound:
                lost = current.state in IN_FLIGHT
        if workflow is None and not lost:
            return current
        if workflow is not None and not workflow.finished and workflow.cannot_start is not None:
            current = self._stop_unstartable(current, workflow, workflow.cannot_start)
        if workflow is not None and not status.apply(current, workflow):
            return current
        with self.db.write() as session:
            record = submission.load(session, deployment_id)
            if workflow is not None:
                status.apply(record, workflow)
            elif record.state in IN_FLIGHT:
                record.state, record.finished_at = "failed", utcnow()
                record.message = f"workflow {record.workflow} no longer exists in the engine"
            return record

    def _stop_unstartable(
        self, current: Deployment, workflow: WorkflowStatus, step: NodeStatus
    ) -> Deployment:
        """A step whose pod can never start fails the deployment now, with the reason in one
        line, rather than when Argo's step deadline ends it. The workflow is stopped (Argo ends
        the stuck steps and runs the exit handler); an exit handler stuck the same way once it
        is stopping is terminated."""
        reason = f"{step.name}: {step.cannot_start}"[:2000]
        if current.stop_reason is not None:
            if step.on_exit:
                self.backend.terminate(workflow.name)
            return current
        with self.db.write() as session:
            record = submission.load(session, current.id)
            if record.stop_reason is None and record.state in IN_FLIGHT:
                record.stop_reason, record.message = status.STOPPED_BY_ROLLWAY, reason
        log.warning("deployment %s: %s", current.id, reason)
        self.backend.stop(workflow.name)
        return record

    def refresh_quietly(self, deployment_id: str) -> Deployment:
        """`refresh`, or the record as stored when the engine cannot be read right now."""
        try:
            return self.refresh(deployment_id)
        except RollwayError:
            with self.db.read() as session:
                return submission.load(session, deployment_id)

    def _run(self) -> None:
        analyzed = time.monotonic()
        while not self._stop.is_set():
            try:
                self.reconcile()
                if time.monotonic() - analyzed > ANALYZE_EVERY:
                    self.db.analyze()
                    analyzed = time.monotonic()
            except Exception as err:  # e.g. the database is briefly unavailable
                log.warning("reconcile pass failed: %s", type(err).__name__)
            self._stop.wait(self.interval)
