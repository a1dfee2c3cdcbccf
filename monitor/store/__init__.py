"""The monitor's state: ``<state_dir>/state.db`` (SQLite, WAL) with its one-run-at-a-time lock.

``sqlite3`` stays inside this package; what leaves it are ``monitor.models`` dataclasses.

>>> from monitor.store import Store, state_lock          # doctest: +SKIP
>>> with state_lock(state_dir, "monitor run"), Store.open(state_dir) as store:
...     run_id = store.start_run("run", sys.argv[1:])
...     ...
...     store.finish_run(run_id, exit_code=0, counts={}, per_aoi={}, errors=[])

Schema changes are appended to ``monitor.store.migrations.MIGRATIONS`` (see that module).
"""

from __future__ import annotations

from monitor.store.db import DEFAULT_BUSY_TIMEOUT_S, Store
from monitor.store.lock import LockInfo, lock_path, read_lock_holder, state_lock
from monitor.store.migrations import MIGRATIONS, latest_version

__all__ = [
    "Store",
    "DEFAULT_BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "latest_version",
    "LockInfo",
    "state_lock",
    "read_lock_holder",
    "lock_path",
]
