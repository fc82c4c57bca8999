"""``iamledger projections ...``: operate the SQL views (status, rebuild, verify, follow).

The views are derived from the event log; these commands show where they stand, build them again beside the live
ones and switch over, check them against a fresh build, and keep them current from a long-lived process.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Final

import click

from iamledger.cli.group import Group
from iamledger.cli.session import emit, open_store, state
from iamledger.logconfig import get_logger
from iamledger.store import IdentityStore

EXIT_DIFFERENT: Final = 1
LOG_EVERY_SECONDS: Final = 5.0

log = get_logger(__name__)

ProgressCallback = Callable[[int, int], None]


@contextmanager
def progress_reporter(label: str) -> Iterator[ProgressCallback]:
    """A ``(done, total)`` callback: a progress bar on stderr when it is a terminal, otherwise an INFO log line at
    most every few seconds."""
    if not sys.stderr.isatty():
        last = [0.0]

        def log_progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= LOG_EVERY_SECONDS or done >= total:
                last[0] = now
                log.info("progress", task=label, position=done, of=total)

        yield log_progress
        return
    bars: list[Any] = []

    def draw(done: int, total: int) -> None:
        if not bars:
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
            bars.append(bar)
        bar = bars[0]
        bar.length = max(bar.length or 0, total, 1)
        if done > bar.pos:
            bar.update(done - bar.pos)

    try:
        yield draw
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)


@click.group("projections", cls=Group)
def projections_group() -> None:
    """Operate the SQL views built from the event log: status, rebuild, verify, follow."""


@projections_group.command("status")
def status_command() -> None:
    """Show the views' position, the log's head and the lag, the time index and hash chain (positions indexed,
    head link and its recorded time), and each view's row counts. Changes nothing."""
    with open_store() as store:
        emit(store.projector.status() | {"Trail": store.trail.status()}, title="ProjectionsStatus")


@projections_group.command("rebuild")
def rebuild_command() -> None:
    """Replay the whole log into new view tables (with a progress bar on stderr), then switch to them in one
    transaction; meanwhile the audit trail is rebuilt in a second process. The time index and hash chain are kept.
    Safe while other processes read and write."""
    # The views and the trail read the same log and write tables of their own (the views a scratch copy until they
    # switch); each is bound by Python, so the trail's rebuild runs on a second core, started before this process
    # opens the store (a forked child shares no connection with it); opened once before, so that the two do not
    # both create the tables of a store that lacks some (SQLite has no lock for that).
    with open_store():
        pass
    with _trail_rebuilt_beside(state().db), open_store() as store:
        with progress_reporter("Rebuilding the views") as progress:
            position = store.projector.rebuild(progress)
        click.echo("Rebuilding the audit trail (in a second process)...", err=True)
    with open_store() as store:
        counts = store.projector.status()["Views"]
        trail = store.trail.status()
    click.echo(f"Rebuilt the views and the audit trail up to position {position}.", err=True)
    emit({"Position": position, "Views": counts, "Trail": trail}, title="ProjectionsRebuild")


@contextmanager
def _trail_rebuilt_beside(url: str | None) -> Iterator[None]:
    """Rebuild the audit trail of the store at ``url`` in a process of its own while the block runs; the block ends
    once that process has (its failure, reported on stderr by the process itself, is raised here)."""
    # fork where it is the default (Linux): the child needs no start-up of its own, which would take about as long
    # as the views' whole rebuild
    process = multiprocessing.Process(target=_rebuild_trail, args=(url,), daemon=True)
    process.start()
    try:
        yield
    finally:
        process.join()
    if process.exitcode != 0:
        raise click.ClickException(
            f"Rebuilding the audit trail failed (exit status {process.exitcode}): see above; the views were rebuilt."
        )


def _rebuild_trail(url: str | None) -> None:
    """The second process of ``projections rebuild``: the store opened again and its trail rebuilt (without a
    progress bar of its own: the views' has the terminal)."""
    store = IdentityStore.open(url, create=False)
    try:
        store.trail.rebuild()
    finally:
        store.close()


@projections_group.command("verify")
@click.pass_context
def verify_command(ctx: click.Context) -> None:
    """Rebuild the views into scratch tables up to the live views' position and compare them row by row (ignoring
    row_id); report the differences per table. Exit status 1 when they differ."""
    with open_store() as store:
        with progress_reporter("Verifying the views") as progress:
            report = store.projector.verify_views(progress)
        click.echo("Verifying the audit trail against a replay of the logs...", err=True)
        trail = store.trail.verify()
    report["Trail"] = trail
    emit(report, title="ProjectionsVerify")
    if report["Consistent"] and trail["Consistent"]:
        click.echo(
            f"The views match a fresh build at position {report['Position']}, and the audit trail's "
            f"{trail['Records']} records a replay of the logs.",
            err=True,
        )
        return
    if not report["Consistent"]:
        tables = ", ".join(t["Table"] for t in report["Tables"] if t["Missing"] or t["Unexpected"])
        click.echo(
            f"The views differ from a fresh build at position {report['Position']} ({report['Differences']} rows "
            f"in {tables}): run `iamledger projections rebuild`.",
            err=True,
        )
    if not trail["Consistent"]:
        click.echo(
            f"The audit trail differs from a replay of the logs ({trail['Missing']} records missing, "
            f"{trail['Unexpected']} unexpected): run `iamledger projections rebuild`.",
            err=True,
        )
    ctx.exit(EXIT_DIFFERENT)


@projections_group.command("follow")
@click.option(
    "--interval", type=click.FloatRange(min=0.01), default=1.0, show_default=True, help="Seconds between polls."
)
@click.option("--until-idle", is_flag=True, help="Stop once the views have caught up with the log.")
@click.option("--max-seconds", type=click.FloatRange(min=0), help="Stop after this many seconds.")
def follow_command(interval: float, until_idle: bool, max_seconds: float | None) -> None:
    """Run the projector as a long-lived process: catch up, then poll the log for new events every --interval
    seconds and apply them, logging progress (at INFO). Stops cleanly on SIGINT or SIGTERM and prints the position
    reached."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("projections_follow_stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_store() as store:
            log.info("projections_follow_started", position=store.projector.position(), interval=interval)

            def advanced(position: int, head: int) -> None:
                log.info("projections_advanced", position=position, head=head)

            position = store.projector.follow(
                interval=interval,
                until_idle=until_idle,
                max_seconds=max_seconds,
                stop=stop,
                progress=advanced,
                also=store.trail.catch_up,
            )
            head = store.projector.head()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("projections_follow_stopped", position=position)
    emit({"Position": position, "LogHead": head}, title="ProjectionsFollow")
