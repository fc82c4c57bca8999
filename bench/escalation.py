"""Benchmark: the privilege-escalation questions (issue 22), each in a fresh process, against a one-principal read.

On an account of ``iamledger bench generate`` (default: 10,000 users, 200 groups, 1,000 roles, 200,000 events, seed
3; ``--scale``: bench/scale.py's 100,000 users and 1,000,000 events), SQLite and, with ``--db``, PostgreSQL:

1. ``iamledger bench generate`` into a fresh store, or ``--store``: a SQLite store generated before (bench/audit.py's
   ``--workdir`` keeps one); its views caught up in a process of their own, so that no question pays for that;
2. each question in its own process (``--repeat`` calls: the first, cold, apart; p50/p99 of the others; the
   process's peak RSS), through the library API as a program calls it:

   - ``what_can`` of the followed user: the **baseline**, a read of one principal's permissions, in the same run;
   - ``escalation_paths`` of the followed user (to ``admin``, at most 5 hops), now and as of the middle of the log;
   - ``escalation_paths`` of a role (the first live role by name);
   - ``paths_opened`` over the last week of the log, and ``blast_radius`` of the newest access key, when the store
     has them;
   - ``who_can_escalate`` and ``audit_findings``: the whole account.

The table gives each question's p50 as a ratio to the baseline's. Targets (issue 22), reported as pass/FAIL, never
asserted, stated at 100,000 users and 1,000,000 events: ``escalation_paths`` of one principal and ``paths_opened``
over a week each under 1 s, peak RSS <= 400 MB.

    python bench/escalation.py                                 # 10,000 users, 200,000 events, SQLite
    python bench/escalation.py --store /tmp/audit/audit.db     # reuse a store generated before
    python bench/escalation.py --scale --repeat 3              # 100,000 users, 1,000,000 events
    python bench/escalation.py --db postgresql://u:p@127.0.0.1:5432/db   # PostgreSQL too (a scratch schema)
    python bench/escalation.py --quick                         # CI smoke: a tiny account, every question twice
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iamledger import IdentityStore
from iamledger.config import redact
from iamledger.projections.engine.timeindex import time_of
from iamledger.projections.views.tables import ACCESS_KEYS, ROLES, USERS

sys.path.insert(0, str(Path(__file__).parent))
from audit import (
    ACCOUNT,
    NONE,
    BackendResult,
    Query,
    Store,
    Target,
    account_arguments,
    check,
    emit,
    generate,
    milliseconds,
    open_store,
    prepare_store,
    run_backends,
    run_worker,
    sqlite_url,
)
from scale import database_size, drop_schema

ONE_PRINCIPAL = Target("each <= 1 s, RSS <= 400 MB", max_ms=1000.0, rss_mb=400.0)
BASELINE = "what_can (baseline)"


# -- the worker: one question, repeated, in its own process ------------------------------------------------------


def _count(answer: dict[str, Any]) -> int:
    for key in ("Paths", "Techniques", "Principals", "Reachable"):
        if key in answer:
            return len(answer[key])
    return 1


WORKER_CALLS: dict[str, Callable[[IdentityStore, dict[str, Any]], Any]] = {
    "open": lambda _store, _params: {},
    "catch_up": lambda store, _params: store.projector.catch_up() or {},
    "what_can": lambda store, params: store.what_can(**params),
    "escalation_paths": lambda store, params: store.escalation_paths(**params),
    "who_can_escalate": lambda store, params: store.who_can_escalate(**params),
    "audit_findings": lambda store, params: store.audit_findings(**params),
    "paths_opened": lambda store, params: store.paths_opened(**params),  # type: ignore[attr-defined]
    "blast_radius": lambda store, params: store.blast_radius(**params),  # type: ignore[attr-defined]
}


def worker(kind: str, url: str, repeat: int, params: dict[str, Any]) -> int:
    """Open the store, ask ``kind`` ``repeat`` times, print each call's milliseconds as a JSON line."""
    call = WORKER_CALLS[kind]
    store = IdentityStore.open(url, create=False)
    try:
        for number in range(repeat):
            started = time.perf_counter()
            answer = call(store, params)
            elapsed = (time.perf_counter() - started) * 1000
            emit({"ms": elapsed, "size": _count(answer) if isinstance(answer, dict) else 0})
            print(f"    {kind} call {number + 1}/{repeat}: {elapsed:,.1f} ms", file=sys.stderr, flush=True)
    finally:
        store.close()
    return 0


# -- one backend ---------------------------------------------------------------------------------------------------


def survey(store: Store, result: BackendResult, seed: int, span: int | None) -> dict[str, Any]:
    """The views caught up, the user followed (drawn with ``seed``), a role, the newest access key, the middle of the
    log and the start of the range ``paths_opened`` is asked about: a week before the head, or ``span`` positions."""
    opened = open_store(store)
    try:
        opened.projector.catch_up()
        result.head = opened.projector.head()
        result.past_position = result.head // 2
        with opened.engine.connect() as conn:
            users = conn.execute(
                select(USERS.c.user_name, USERS.c.arn)
                .where(USERS.c.valid_to.is_(None), USERS.c.account_id == ACCOUNT)
                .order_by(USERS.c.user_name)
            ).all()
            role = conn.execute(
                select(ROLES.c.arn)
                .where(ROLES.c.valid_to.is_(None), ROLES.c.account_id == ACCOUNT)
                .order_by(ROLES.c.role_name)
                .limit(1)
            ).scalar()
            key = conn.execute(
                select(ACCESS_KEYS.c.access_key_id)
                .where(ACCESS_KEYS.c.owner_kind == "user", ACCESS_KEYS.c.account_id == ACCOUNT)
                .order_by(ACCESS_KEYS.c.valid_from.desc())
                .limit(1)
            ).scalar()
            last = time_of(conn, result.head)
    finally:
        opened.close()
    if not users:
        raise SystemExit(f"no live user in account {ACCOUNT} of {redact(store.url)}")
    name, arn = random.Random(seed).choice(users)
    result.user = name
    week_ago = (last - timedelta(days=7)).isoformat()
    since: str | int = week_ago if span is None else max(result.head - span, 0)
    return {"user": arn, "role": role, "key": key, "since": since, "last": last.isoformat()}


def questions(picks: dict[str, Any], result: BackendResult) -> list[Query]:
    """The questions of a run, the baseline first."""
    user, role = picks["user"], picks["role"]
    asked = [
        Query(BASELINE, "what_can", {"PrincipalArn": user}, NONE),
        Query("escalation_paths user", "escalation_paths", {"PrincipalArn": user}, ONE_PRINCIPAL, "paths"),
        Query(
            "escalation_paths user, past",
            "escalation_paths",
            {"PrincipalArn": user, "At": result.past_position},
            ONE_PRINCIPAL,
            "paths",
        ),
    ]
    if role:
        asked.append(Query("escalation_paths role", "escalation_paths", {"PrincipalArn": role}, ONE_PRINCIPAL, "paths"))
    if hasattr(IdentityStore, "paths_opened"):
        params = {"From": picks["since"], "To": picks["last"]}
        name = "paths_opened, last week" if isinstance(picks["since"], str) else "paths_opened, last positions"
        asked.append(Query(name, "paths_opened", params, ONE_PRINCIPAL, "paths"))
    if hasattr(IdentityStore, "blast_radius") and picks["key"]:
        asked.append(Query("blast_radius of a key", "blast_radius", {"AccessKeyId": picks["key"]}, NONE, "nodes"))
    asked.append(Query("who_can_escalate", "who_can_escalate", {}, NONE, "techniques"))
    asked.append(Query("audit_findings", "audit_findings", {}, NONE, "principals"))
    return asked


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> BackendResult:
    store = prepare_store(backend, args, workdir)
    result = BackendResult(backend, redact(store.url), reused=not store.scratch)
    print(f"== {backend}: {redact(store.url)}", file=sys.stderr, flush=True)
    try:
        if store.scratch:
            generate(store, args, result)
        picks = survey(store, result, args.seed, args.span)
        result.values = {k: str(v) for k, v in picks.items() if v is not None}
        result.size_mb = database_size(store.url, store.path, store.schema)
        for query in questions(picks, result):
            print(f"  {query.name}", file=sys.stderr, flush=True)
            result.rows.append(run_worker(query, store.url, store.env, args.repeat, args.budget, script=Path(__file__)))
    finally:
        if backend == "postgres" and store.scratch and store.schema and not args.keep:
            drop_schema(args.db, store.schema)
    return result


# -- the report ----------------------------------------------------------------------------------------------------


def report(results: Sequence[BackendResult], args: argparse.Namespace) -> None:
    for r in results:
        print()
        account = "reused store" if r.reused else f"{args.users:,} users, {args.events:,} events, seed {args.seed}"
        print(f"{r.backend}: {r.url} ({account}); head position {r.head:,}; database {r.size_mb:,.0f} MB")
        print(
            f"  {args.repeat} calls per question (cold = the first; p50/p99 over the others), budget {args.budget:g} s"
        )
        base = next((m.p50_ms for m in r.rows if m.name == BASELINE and m.p50_ms), None)
        header = (
            f"{'question':<30}{'calls':>6}{'cold ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'x base':>8}{'RSS MB':>8}  "
            f"{'result':<30}{'target':<28}verdict"
        )
        print(header)
        print("-" * len(header))
        for m in r.rows:
            warm = len(m.calls_ms) > 1
            ratio = f"{m.p50_ms / base:.1f}x" if base and m.p50_ms is not None else "-"
            print(
                f"{m.name:<30}{len(m.calls_ms):>6}{milliseconds(m.cold_ms):>10}"
                f"{milliseconds(m.p50_ms) if warm else '-':>10}{milliseconds(m.p99_ms) if warm else '-':>10}"
                f"{ratio:>8}{m.rss_mb:>8.0f}  {m.result():<29} {m.target.text:<28}{m.verdict()}"
            )
        print(f"  user followed: {r.user}; past = position {r.past_position:,}; role {r.values.get('role', '-')}")
        print(f"  key: {r.values.get('key', '-')}; paths_opened from {r.values.get('since')} to {r.values.get('last')}")


# -- the command line ----------------------------------------------------------------------------------------------


def arguments() -> argparse.ArgumentParser:
    parser = account_arguments(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="calls per question process (default 5; --quick: 2)")
    parser.add_argument("--budget", type=float, help="seconds a question process may run (default 600; --quick: 120)")
    parser.add_argument("--span", type=int, help="paths_opened over this many positions (default: a week; --quick: 20)")
    parser.add_argument("--worker", choices=sorted(WORKER_CALLS), help=argparse.SUPPRESS)
    # bench/audit.py's options this run has no use for, kept so that its checks apply as they are
    parser.set_defaults(writes=0, no_rebuild=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments()
    args = parser.parse_args(argv)
    if args.worker:
        if not args.store:
            parser.error("--worker needs --store")
        return worker(args.worker, sqlite_url(args.store), args.repeat or 1, json.loads(args.params))
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.budget is None:
        args.budget = 120.0 if args.quick else 600.0
    if args.span is None and args.quick:
        args.span = 20  # a week of a generated tiny account is its whole log
    backends = check(parser, args)
    results, seconds = run_backends(backends, args, "iamledger-escalation-", run_backend)
    report(results, args)
    print(f"\nwhole run: {seconds:.0f} s on {os.cpu_count()} cores; {shlex.join(['python', *sys.argv])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
