"""Benchmark: time travel at scale. As-of queries and projection catch-up on histories of 10,000 and 1,000,000 events.

For each size a realistic history (users joining and leaving groups, managed policies with new versions and default
version changes, attachments and detachments, inline policies, role trust updates, access keys, tags, renames, role
sessions, offboarded users...) is generated with the real domain aggregates and saved in large batches on a fresh
store, so the projector must process real stored events. Then, in the same run:

(a) the bare ``eventsourcing`` replay rate: ``recorder.select_notifications`` in batches + ``mapper.to_domain_event``;
(b) the projection catch-up rate from empty views (``store.projector.catch_up``), and its ratio to (a);
(c) as-of membership queries at random times: ``store.at(time).list_groups_for_user(UserName=...)``, p50/p99;
(d) as-of simulations at random times: ``store.at(time).simulate_principal_policy(...)``, p50/p99.

Targets (reported, never asserted): p50 at the largest size <= 2x p50 at the smallest, and < 10 ms; catch-up >= 50%
of the bare replay rate.

    python bench/timetravel.py                          # 10,000 and 1,000,000 events on SQLite
    python bench/timetravel.py --quick                  # CI smoke run: 500 and 2,000 events, a few seconds
    python bench/timetravel.py --db postgresql://u:p@127.0.0.1:5432/db   # also on PostgreSQL (a scratch schema)
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy
from sqlalchemy import select

from iamledger import IdentityStore
from iamledger.generate import GenerateSpec, generate
from iamledger.projections.views.tables import POSITIONS, USERS

ACCOUNT = "123456789012"
SIMULATED_ACTIONS = ["s3:GetObject", "ec2:DescribeInstances", "iam:CreateUser", "dynamodb:PutItem", "sqs:SendMessage"]


# -- progress --------------------------------------------------------------------------------------------------


class Progress:
    """A live counter on a terminal (stderr), one line every few seconds in a log."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.shown = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        total = self.total if total is None else total
        elapsed = time.perf_counter() - self.started
        if not self.live and elapsed - self.shown < 5.0 and done < total:
            return
        self.shown = elapsed
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"  {self.label}: {done:,}/{total:,} events ({rate:,.0f}/s, {elapsed:.1f}s)"
        print(line, file=sys.stderr, end="\r" if self.live else "\n", flush=True)

    def done(self) -> None:
        if self.live:
            print(file=sys.stderr)


# -- the history --------------------------------------------------------------------------------------------------


def build_history(store: IdentityStore, size: int, seed: int) -> None:
    """The history of ``iamledger bench generate`` (:mod:`iamledger.generate`) with populations that grow with the
    size (about one user per 60 events, one group per 1,000, one managed policy per 500, one role per 800), so each
    entity's own history has about the same depth at every size: what grows is the log and the views."""
    spec = GenerateSpec(
        users=max(8, size // 60),
        groups=max(3, size // 1000),
        roles=max(2, size // 800),
        policies=max(3, size // 500),
        events=size,
        seed=seed,
        account_id=ACCOUNT,
    )
    progress = Progress("building history", size)
    generate(store, spec, progress)
    progress.done()


# -- measurements --------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bare_replay(store: IdentityStore, head: int) -> float:
    """Events/s of eventsourcing alone: select the notifications in batches of 1,000 and decode each event."""
    recorder, mapper = store.recorder, store.mapper
    progress = Progress("bare replay", head)
    started = time.perf_counter()
    position = 0
    while position < head:
        notifications = recorder.select_notifications(start=position + 1, limit=1000, stop=head)
        if not notifications:
            break
        for notification in notifications:
            mapper.to_domain_event(notification)
        position = notifications[-1].id
        progress(position)
    elapsed = time.perf_counter() - started
    progress.done()
    return head / elapsed


def catch_up(store: IdentityStore, head: int) -> float:
    """Events/s of the projector bringing empty views (and the time index) up to the head."""
    progress = Progress("projection catch-up", head)
    started = time.perf_counter()
    reached = store.projector.catch_up(progress)
    elapsed = time.perf_counter() - started
    progress.done()
    if reached != head:
        raise SystemExit(f"catch-up stopped at {reached}, not at the head {head}")
    return head / elapsed


@dataclass(frozen=True)
class Sample:
    when: datetime
    position: int
    user_name: str
    user_arn: str


def samples(store: IdentityStore, count: int, rng: random.Random) -> list[Sample]:
    """Random recorded moments, each with the position it resolves to and a user that existed then (found without
    timing). A moment is drawn from the distinct recorded times, not uniformly over the span: a small history saved
    in one transaction has a single time after the account's creation, and a uniform draw would almost never reach
    it (the draw would loop for ever)."""
    recorded = POSITIONS.c.recorded_at
    with store.engine.connect() as conn:
        times = conn.execute(
            select(recorded, sqlalchemy.func.max(POSITIONS.c.position)).group_by(recorded).order_by(recorded)
        ).all()
        rows = conn.execute(select(USERS.c.user_name, USERS.c.arn, USERS.c.valid_from, USERS.c.valid_to)).all()
    found: list[Sample] = []
    for _ in range(count * 1000):
        if len(found) >= count:
            break
        when, position = rng.choice(times)
        for _ in range(1000):
            name, arn, valid_from, valid_to = rng.choice(rows)
            if valid_from <= position and (valid_to is None or valid_to > position):
                found.append(Sample(when, int(position), name, arn))
                break
    if len(found) < count:
        raise SystemExit(f"found {len(found)} of {count} moments with a user in the store's history")
    return found


def timed(label: str, items: Sequence[Sample], run: Callable[[Sample], object]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``run`` over ``items`` (queries, not events, in the progress lines)."""
    for item in items[:10]:  # warm-up: statement caches, catalogue, page cache
        run(item)
    times = []
    progress = Progress(label, len(items))
    for number, item in enumerate(items, start=1):
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
        progress(number)
    progress.done()
    return percentile(times, 0.50), percentile(times, 0.99)


def time_lookup(store: IdentityStore) -> Callable[[Sample], object]:
    """``store.at(time)`` alone: the time index lookup every time-based as-of query starts with (timed apart, on
    fewer samples, because at 1,000,000 events it is far slower than the queries themselves)."""

    def run(sample: Sample) -> None:
        if store.at(sample.when).position != sample.position:
            raise SystemExit(f"store.at({sample.when}) disagrees with the time index: not {sample.position}")

    return run


@dataclass
class Result:
    backend: str
    size: int
    events: int = 0
    build_s: float = 0.0
    replay_rate: float = 0.0
    catch_up_rate: float = 0.0
    membership: tuple[float, float] = (0.0, 0.0)
    simulation: tuple[float, float] = (0.0, 0.0)
    time_lookup: tuple[float, float] = (0.0, 0.0)
    groups_seen: int = 0


@contextmanager
def fresh_store(backend: str, postgres: str | None, workdir: Path, size: int) -> Iterator[IdentityStore]:
    """A new, empty store (its own SQLite file, or its own PostgreSQL schema dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'timetravel-{size}.db'}"
    else:
        if postgres is None:
            raise SystemExit("a PostgreSQL run needs --db")
        schema = f"bench_timetravel_{secrets.token_hex(6)}"
        url = f"{postgres}{'&' if '?' in postgres else '?'}schema={schema}"
    store = IdentityStore.open(url, master_key=secrets.token_bytes(32))
    try:
        yield store
    finally:
        store.close()
        if backend == "postgres" and postgres is not None:
            engine = sqlalchemy.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def run_size(backend: str, postgres: str | None, workdir: Path, size: int, queries: int, seed: int) -> Result:
    result = Result(backend, size)
    rng = random.Random(seed)
    print(f"== {backend}, {size:,} events", file=sys.stderr)
    with fresh_store(backend, postgres, workdir, size) as store:
        started = time.perf_counter()
        build_history(store, size, seed)
        result.build_s = time.perf_counter() - started
        head = store.projector.head()
        result.events = head
        result.replay_rate = bare_replay(store, head)
        result.catch_up_rate = catch_up(store, head)
        chosen = samples(store, queries, rng)
        groups_seen = 0

        def membership(sample: Sample) -> None:
            nonlocal groups_seen
            answer = store.at(sample.position).list_groups_for_user(UserName=sample.user_name)
            groups_seen += len(answer["Groups"])

        def simulation(sample: Sample) -> None:
            store.at(sample.position).simulate_principal_policy(
                PolicySourceArn=sample.user_arn, ActionNames=SIMULATED_ACTIONS
            )

        result.membership = timed("as-of membership queries", chosen, membership)
        result.groups_seen = groups_seen
        result.simulation = timed("as-of simulations", chosen[: max(10, queries // 2)], simulation)
        result.time_lookup = timed("time -> position lookups", chosen[: max(10, queries // 20)], time_lookup(store))
    return result


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def report(results: list[Result], sizes: Sequence[int]) -> None:
    print()
    header = (
        f"{'backend':<9}{'events':>11}{'build s':>9}{'replay ev/s':>13}{'catch-up ev/s':>15}{'ratio':>7}"
        f"{'member p50':>12}{'p99 ms':>8}{'simul p50':>11}{'p99 ms':>8}{'at(time) p50':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<9}{r.events:>11,}{r.build_s:>9.1f}{r.replay_rate:>13,.0f}{r.catch_up_rate:>15,.0f}"
            f"{r.catch_up_rate / r.replay_rate:>6.0%} {r.membership[0]:>11.2f}{r.membership[1]:>8.2f}"
            f"{r.simulation[0]:>11.2f}{r.simulation[1]:>8.2f}{r.time_lookup[0]:>14.2f}"
        )
    print()
    small, large = min(sizes), max(sizes)
    for backend in dict.fromkeys(r.backend for r in results):
        by_size = {r.size: r for r in results if r.backend == backend}
        lo, hi = by_size[small], by_size[large]
        print(f"{backend}: targets at {hi.events:,} events against {lo.events:,}")
        picks = (
            ("as-of membership", "membership"),
            ("as-of simulation", "simulation"),
            ("at(time) lookup", "time_lookup"),
        )
        for label, pick in picks:
            p50_lo, p50_hi = getattr(lo, pick)[0], getattr(hi, pick)[0]
            ratio = p50_hi / p50_lo
            print(
                f"  {label:<18} p50 ratio {ratio:5.2f}x (target <= 2x: {verdict(ratio <= 2.0)}); "
                f"p50 {p50_hi:.2f} ms (target < 10 ms: {verdict(p50_hi < 10.0)})"
            )
        for r in (lo, hi):
            share = r.catch_up_rate / r.replay_rate
            print(
                f"  catch-up at {r.events:>9,} events: {r.catch_up_rate:,.0f} ev/s = {share:.0%} of bare replay "
                f"{r.replay_rate:,.0f} ev/s (target >= 50%: {verdict(share >= 0.5)})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a CI smoke run (500 and 2,000 events)")
    parser.add_argument("--sizes", help="comma-separated history sizes (default 10000,1000000)")
    parser.add_argument("--queries", type=int, default=None, help="as-of queries per size (default 1000)")
    parser.add_argument("--db", help="also run on this PostgreSQL URL (a scratch schema, dropped afterwards)")
    parser.add_argument("--workdir", help="where the SQLite files go (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    else:
        sizes = [500, 2000] if args.quick else [10_000, 1_000_000]
    queries = args.queries or (40 if args.quick else 1000)
    if args.db and not args.db.startswith("postgresql://"):
        parser.error("--db takes a postgresql:// URL (SQLite always runs)")
    backends = ["sqlite"] + (["postgres"] if args.db else [])
    started = time.perf_counter()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="iamledger-timetravel-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [
            run_size(backend, args.db, workdir, size, queries, args.seed) for backend in backends for size in sizes
        ]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, sizes)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
