"""The ``monitor`` command: a click group with one module per command, mapping errors to exit codes.

A command parses options, builds ``Settings``, calls one library function and prints. It never
imports rasterio, sqlite3 or pystac. ``main`` turns a ``MonitorError`` into one line on stderr
plus its exit code (``../shared/CONTRACT.md``); anything else shows a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from monitor import __version__
from monitor.cli import commands
from monitor.cli.output import Log
from monitor.errors import EXIT_ERROR, EXIT_USAGE, MonitorError

__all__ = ["cli", "main"]

EPILOG = (
    "Exit codes: 0 success, 1 error or bad input, 2 usage error, 3 partial failure "
    "(recorded for the next run), 75 another run holds the lock."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="monitor")
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the final summary.")
@click.option("-v", "--verbose", is_flag=True, help="Also a line per scene.")
@click.option("--log-json", is_flag=True, help="Progress as JSON lines, for log collectors.")
@click.pass_context
def cli(context: click.Context, quiet: bool, verbose: bool, log_json: bool) -> None:
    """Sentinel-2 change monitor for the compounds on the Myanmar-Thailand border.

    Finds Sentinel-2 L2A scenes over each area of interest (AOI) through STAC, reads only the
    AOI's window of each image, and flags construction, demolition, rebuilding and roof change
    against the AOI's own history. 10 m pixels: rooftop equipment such as Starlink dishes
    (about 0.5 m) is far below what Sentinel-2 can see.
    """

    context.obj = Log(quiet=quiet, verbose=verbose, log_json=log_json)


def _register() -> None:
    # Imported here so each command lives in its own module and the group stays small.

    for command in commands.ALL:
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="monitor",
            standalone_mode=False,
        )
    except MonitorError as exc:
        click.echo(f"monitor: error: {exc}", err=True)
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("monitor: aborted", err=True)
        code = EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("monitor: interrupted", err=True)
        code = 130
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
