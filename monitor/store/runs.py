"""The runs' records: each run's summary, the steps a run still owes, its alert outbox."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from monitor.models import AlertEvent, RunSummary
from monitor.store import rows as _rows
from monitor.store.connection import Connection

__all__ = ["RunTables"]


class RunTables(Connection):
    """``Store``'s ``runs``, ``pending_steps`` (exports, reports) and ``alert_outbox``."""

    def mark_pending(self, step: str, run_id: int | None) -> None:
        """Record that ``step`` (``"exports"``) is owed; call in the transaction that stores
        what makes it owed, so a kill before the step leaves it owed for the next run."""
        with self.transaction():
            self._execute(
                "INSERT INTO pending_steps (step, run_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (step) DO UPDATE SET run_id = excluded.run_id, "
                "at = excluded.at",
                (step, run_id, _rows.to_iso(_rows.utc_now())),
            )

    def pending(self, step: str) -> bool:
        """Whether ``step`` is owed (marked and not cleared since)."""
        row = self._execute("SELECT 1 FROM pending_steps WHERE step = ?", (step,)).fetchone()
        return row is not None

    def clear_pending(self, step: str) -> None:
        """``step`` was done: nothing of it is owed any more."""
        with self.transaction():
            self._execute("DELETE FROM pending_steps WHERE step = ?", (step,))

    def queue_alerts(self, run_id: int | None, events: Iterable[AlertEvent]) -> int:
        """Put alert events in the outbox (in the detections' transaction); return how many."""
        n = 0
        with self.transaction():
            for event in events:
                row = _rows.detection_to_row(event.detection)
                self._execute(
                    "INSERT INTO alert_outbox (run_id, kind, detection_json, previous_status, "
                    "previous_change_type) VALUES (?, ?, ?, ?, ?)",
                    (
                        run_id,
                        event.kind,
                        _rows.dumps(row),
                        event.previous_status,
                        event.previous_change_type,
                    ),
                )
                n += 1
        return n

    def queued_alerts(self) -> list[tuple[int, int | None, AlertEvent]]:
        """The outbox, oldest first: ``(seq, run_id, event)``; ``seq`` for ``clear_alerts``."""
        rows = self._execute("SELECT * FROM alert_outbox ORDER BY seq").fetchall()
        return [
            (
                int(r["seq"]),
                r["run_id"],
                AlertEvent(
                    r["kind"],
                    _rows.detection_from_row(_rows.loads(r["detection_json"])),
                    r["previous_status"],
                    r["previous_change_type"],
                ),
            )
            for r in rows
        ]

    def clear_alerts(self, up_to_seq: int) -> None:
        """Empty the outbox up to ``up_to_seq`` (the events were written to an alerts file)."""
        with self.transaction():
            self._execute("DELETE FROM alert_outbox WHERE seq <= ?", (int(up_to_seq),))

    def start_run(self, command: str, argv: Sequence[str]) -> int:
        """Record the start of a run (time, host, pid); return its id for ``finish_run``.

        A run that never finishes (killed) keeps ``finished_at`` and ``exit_code`` None.
        """
        with self.transaction():
            cursor = self._execute(
                "INSERT INTO runs (command, argv_json, started_at, host, pid) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    command,
                    _rows.dumps([str(a) for a in argv]),
                    _rows.to_iso(_rows.utc_now()),
                    socket.gethostname(),
                    os.getpid(),
                ),
            )
            run_id = cursor.lastrowid
        assert run_id is not None
        return int(run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        exit_code: int,
        counts: Mapping[str, int],
        per_aoi: Mapping[str, Mapping[str, Any]],
        errors: Sequence[str],
    ) -> RunSummary:
        """Record how run ``run_id`` ended and return its summary.

        ``per_aoi`` values are stored as JSON: numpy scalars, dates and paths become plain
        numbers and strings.

        Raises
        ------
        ValueError
            No run ``run_id`` was started in this state.
        """
        with self.transaction():
            cursor = self._execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, counts_json = ?, "
                "per_aoi_json = ?, "
                "errors_json = ? WHERE id = ?",
                (
                    _rows.to_iso(_rows.utc_now()),
                    int(exit_code),
                    _rows.dumps({str(k): int(v) for k, v in counts.items()}),
                    _rows.dumps({str(k): dict(v) for k, v in per_aoi.items()}),
                    _rows.dumps([str(e) for e in errors]),
                    run_id,
                ),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"{self.path}: no run {run_id} to finish")
        summary = self._run(run_id)
        assert summary is not None
        return summary

    def _run(self, run_id: int) -> RunSummary | None:
        row = self._execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _rows.run_from_row(row)

    def last_run(self) -> RunSummary | None:
        """The most recently started run (finished or not), or None."""
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """The last ``limit`` runs, newest first."""
        rows = self._execute(
            "SELECT * FROM runs ORDER BY id DESC LIMIT ?", (int(limit),)
        ).fetchall()
        return [_rows.run_from_row(row) for row in rows]
