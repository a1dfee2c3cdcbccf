"""``monitor status``: the last run with each AOI's state."""

from __future__ import annotations

import click

from monitor.cli.options import state_options
from monitor.cli.output import print_json, print_table
from monitor.config import Settings

__all__ = ["status"]


@click.command()
@state_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(settings: Settings, aoi: tuple[str, ...], as_json: bool) -> None:
    """The last run and, per AOI, the last clear observation and scene counts."""
    from monitor.job import state_status

    report = state_status(settings, aoi)
    if as_json:
        print_json(report)
        return
    last = report["last_run"]
    if last is None:
        click.echo(f"no run recorded in {report['state_dir']}")
    else:
        state = (
            f"exit {last['exit_code']}"
            if last["finished_at"]
            else "not finished (still running, or killed)"
        )
        took = f" in {last['seconds']:.0f} s" if last.get("seconds") is not None else ""
        click.echo(
            f"last run #{last['run_id']} ({last['command']}): started "
            f"{last['started_at']}{took}, {state}"
        )
        for error in last["errors"]:
            click.echo(f"  error: {error}")
    rows = [
        (
            a["id"],
            a["last_clear_observation"] or "-",
            a["scenes_used"],
            a["scenes_skipped"],
            a["scenes_failed"],
            a["scenes_pending"],
            _open(a["detections"]),
            f"{a['cache_bytes'] / 1e6:.0f} MB",
        )
        for a in report["aois"]
    ]
    print_table(
        None,
        ("aoi", "last clear", "used", "skipped", "failed", "not read", "open detections", "cache"),
        rows,
    )
    for a in report["aois"]:
        detector = a["detector"]
        if detector is not None and not detector["current"]:
            click.echo(
                f"{a['id']}: detector state from another detector or outline; "
                "the next run (or `monitor rebuild`) replays it"
            )
        for note in (detector or {}).get("notes", []):
            click.echo(f"{a['id']}: {note}")
        for failed in a["failed"]:
            click.echo(
                f"{a['id']}: failed {failed['scene_id']} ({failed['attempts']} "
                f"attempts): {failed['reason']}"
            )
        if a["simulated"]:
            click.echo(f"{a['id']}: SIMULATED data")


def _open(detections: dict[str, dict[str, int]]) -> str:
    """'3 confirmed (2 demolition, 1 new_construction), 5 probable'."""
    parts = []
    for status in ("confirmed", "probable"):
        types = detections.get(status, {})
        if types:
            inner = ", ".join(f"{n} {t}" for t, n in sorted(types.items(), key=lambda kv: -kv[1]))
            parts.append(f"{sum(types.values())} {status} ({inner})")
    return "; ".join(parts) or "none"
