"""Benchmark: an organisation of 100,000 users with 1,000,000 events, through the commands a user would run.

For each backend, in one run:

1. ``iamledger bench generate --users U --groups G --roles R --events E`` into a fresh store (a new SQLite file, or a
   new PostgreSQL schema): generation events/s and the process's peak RSS;
2. ``iamledger projections rebuild`` on it: rebuild events/s and the process's peak RSS (target: at most 300 MB),
   with the bare ``eventsourcing`` replay rate of the same log measured in the same run as its baseline;
3. in this process: as-of membership queries (``store.at(position).list_groups_for_user``) and as-of simulations
   (``simulate_principal_policy``) at random moments, p50/p99; ``who_can`` now and as of a past moment;
4. the database's size.

The commands run as separate processes so that their peak RSS is theirs alone (``os.wait4``).

    python bench/scale.py                                   # 100,000 users, 1,000,000 events, SQLite
    python bench/scale.py --db postgresql://u:p@127.0.0.1:5432/db   # PostgreSQL too (a scratch schema)
    python bench/scale.py --quick                           # CI smoke: 200 users, 5,000 events
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy

from iamledger import IdentityStore

sys.path.insert(0, str(Path(__file__).parent))
from timetravel import SIMULATED_ACTIONS, Sample, bare_replay, samples, timed

ACCOUNT = "123456789012"
RSS_TARGET_MB = 300.0
WHO_CAN_ACTION = "s3:GetObject"
WHO_CAN_RESOURCE = "arn:aws:s3:::bucket-7/reports/2026.csv"


@dataclass
class Result:
    backend: str
    events: int = 0
    generate_s: float = 0.0
    generate_rss_mb: float = 0.0
    rebuild_s: float = 0.0
    rebuild_rss_mb: float = 0.0
    replay_rate: float = 0.0
    membership: tuple[float, float] = (0.0, 0.0)
    simulation: tuple[float, float] = (0.0, 0.0)
    who_can_now_s: float = 0.0
    who_can_past_s: float = 0.0
    who_can_principals: int = 0
    size_mb: float = 0.0
    generated: dict[str, Any] = field(default_factory=dict)


def run(command: list[str], label: str) -> tuple[float, float, str]:
    """Run an iamledger command; its wall time, its peak RSS in MB and its standard output. Its progress (stderr)
    goes to ours."""
    print(f"  $ {' '.join(command)}", file=sys.stderr)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{label} failed (exit {process.returncode}): {text[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, text


def timed_command(command: list[str], budget: float) -> tuple[float, str | None]:
    """Wall time and output of a command, or ``inf`` and ``None`` when it does not finish within ``budget`` s."""
    print(f"  $ {' '.join(command)}", file=sys.stderr)
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return float("inf"), None
    return time.perf_counter() - started, done.stdout


def iamledger(url: str, *args: str) -> list[str]:
    executable = shutil.which("iamledger", path=str(Path(sys.executable).parent)) or "iamledger"
    return [executable, "--db", url, "--output", "json", *args]


def database_size(url: str, path: Path | None, schema: str | None) -> float:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if not p.name.endswith(".key")) / 2**20
    engine = sqlalchemy.create_engine(
        url.split("?", maxsplit=1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.connect() as conn:
        size = conn.execute(
            sqlalchemy.text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind IN ('r', 'm')"
            ),
            {"schema": schema},
        ).scalar()
    engine.dispose()
    return float(size or 0) / 2**20


def drop_schema(postgres: str, schema: str) -> None:
    engine = sqlalchemy.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(backend)
    print(f"== {backend}: {args.users:,} users, {args.events:,} events", file=sys.stderr)
    path: Path | None = None
    schema: str | None = None
    if backend == "sqlite":
        path = workdir / "scale.db"
        url = f"sqlite:///{path}"
    else:
        schema = f"bench_scale_{secrets.token_hex(6)}"
        url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    # the commands and this process open the same credential vault
    os.environ["IAMLEDGER_MASTER_KEY"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    try:
        generate = iamledger(
            url,
            "bench",
            "generate",
            f"--users={args.users}",
            f"--groups={args.groups}",
            f"--roles={args.roles}",
            f"--events={args.events}",
            f"--seed={args.seed}",
        )
        result.generate_s, result.generate_rss_mb, text = run(generate, "bench generate")
        result.generated = json.loads(text)
        result.events = int(result.generated["Events"])
        result.rebuild_s, result.rebuild_rss_mb, _ = run(iamledger(url, "projections", "rebuild"), "rebuild")
        store = IdentityStore.open(url)
        try:
            head = store.projector.head()
            result.replay_rate = bare_replay(store, head)
            rng = random.Random(args.seed)
            chosen = samples(store, args.queries, rng)
            with store.acting(ACCOUNT):

                def membership(sample: Sample) -> None:
                    store.at(sample.position).list_groups_for_user(UserName=sample.user_name)

                def simulation(sample: Sample) -> None:
                    store.at(sample.position).simulate_principal_policy(
                        PolicySourceArn=sample.user_arn, ActionNames=SIMULATED_ACTIONS
                    )

                result.membership = timed("as-of membership queries", chosen, membership)
                result.simulation = timed("as-of simulations", chosen[: max(10, len(chosen) // 2)], simulation)
        finally:
            store.close()
        # who-can through the command, as a user runs it, now and as of a moment in the past
        who_can = iamledger(
            url, "audit", "who-can", f"--action-name={WHO_CAN_ACTION}", f"--resource-arn={WHO_CAN_RESOURCE}"
        )
        result.who_can_now_s, text = timed_command(who_can, args.who_can_budget)
        if text is not None:
            result.who_can_principals = len(json.loads(text)["Principals"])
        result.who_can_past_s, _ = timed_command([*who_can, f"--at=position:{chosen[0].position}"], args.who_can_budget)
        result.size_mb = database_size(url, path, schema)
    finally:
        if schema is not None and not args.keep:
            drop_schema(args.db, schema)
    return result


def report(results: Sequence[Result]) -> None:
    print()
    header = (
        f"{'backend':<9}{'events':>11}{'gen ev/s':>10}{'gen MB':>8}{'rebuild ev/s':>14}{'/ replay':>9}"
        f"{'rebuild MB':>12}"
        f"{'member p50/p99 ms':>19}{'simul p50/p99 ms':>18}{'who-can now/past s':>20}{'DB MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        rebuild_rate = r.events / r.rebuild_s
        print(
            f"{r.backend:<9}{r.events:>11,}{r.events / r.generate_s:>10,.0f}{r.generate_rss_mb:>8.0f}"
            f"{rebuild_rate:>14,.0f}{rebuild_rate / r.replay_rate:>8.0%} {r.rebuild_rss_mb:>11.0f}"
            f"{r.membership[0]:>10.2f}/{r.membership[1]:<8.2f}{r.simulation[0]:>9.2f}/{r.simulation[1]:<8.2f}"
            f"{r.who_can_now_s:>11.2f}/{r.who_can_past_s:<8.2f}{r.size_mb:>8.0f}"
        )
    print()
    for r in results:
        verdict = "pass" if r.rebuild_rss_mb <= RSS_TARGET_MB else "FAIL"
        print(
            f"{r.backend}: rebuild peak RSS {r.rebuild_rss_mb:.0f} MB (target <= {RSS_TARGET_MB:.0f} MB: {verdict}); "
            f"who-can found {r.who_can_principals:,} principals; generated {r.generated.get('Users', 0):,} users, "
            f"{r.generated.get('Groups', 0):,} groups, {r.generated.get('Roles', 0):,} roles, "
            f"{r.generated.get('Policies', 0):,} policies, {r.generated.get('RoleSessions', 0):,} role sessions"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: 200 users, 5,000 events")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--roles", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000, help="as-of membership queries (half as many simulations)")
    parser.add_argument("--db", help="also run on this PostgreSQL URL (a scratch schema, dropped afterwards)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--workdir", help="where the SQLite file goes (default: a temporary folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--who-can-budget", type=float, default=900.0, help="seconds a who-can may take (default 900)")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.groups, args.roles, args.events, args.queries = 200, 10, 20, 5000, 20
    if args.db and not args.db.startswith("postgresql://"):
        parser.error("--db takes a postgresql:// URL")
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.db else [])
    if not backends:
        parser.error("--no-sqlite needs --db")
    started = time.perf_counter()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="iamledger-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [run_backend(backend, args, workdir) for backend in backends]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
