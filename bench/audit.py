"""Benchmark: the audit queries (lookup_events, entity_history, who_can, what_can), each in a fresh process.

On an account of ``iamledger bench generate`` (default: 10,000 users, 200 groups, 1,000 roles, 200,000 events, seed
3; ``--scale``: bench/scale.py's 100,000 users and 1,000,000 events), for each backend:

1. ``iamledger bench generate`` into a fresh store (a new SQLite file or PostgreSQL schema), or ``--store``: a SQLite
   store generated before (generating 1,000,000 events takes minutes);
2. ``iamledger projections rebuild``: its events/s (over the command's wall time, start-up included) against the
   bare ``eventsourcing`` replay of the same log, measured in the same run as bench/scale.py does, and its peak RSS;
   then, in a process of its own, whatever the rebuild left for the first reader to catch up (the trail's own
   projection where the store has one), so that no query pays for it;
3. each query in its own process (this script with ``--worker``), ``--repeat`` calls: the first call (cold) apart,
   p50/p99 of the others (warm), and the process's peak RSS (``os.wait4``). A process still running after
   ``--budget`` seconds is stopped and reported over budget, with the calls it finished. The queries, through the
   library API as a program would call them:

   - ``lookup_events`` newest page of 50: no filter; the next page (its ``NextToken``); each ``LookupAttributes``
     key alone, with a value taken from the newest page (``EventId``, ``EventName``, ``Username``... of its first
     record, its first resource, the first access key id on it), or, where the newest page did not finish within
     the budget, a value every generated account has (``CreateUser``, the followed user, a user's access key...);
   - ``entity_history`` of one user (a live user, drawn with ``--seed``);
   - ``who_can`` s3:GetObject on one object, now and as of the middle of the log;
   - ``what_can`` of the same user;

4. the cost of a write: ``create_user`` alone; followed by the views' catch-up (the baseline: a write without the
   trail); by the views' and the trail's after each write; by the views' after each and the trail's after every ten
   (as the endpoint follows the trail), ``--writes`` calls each in a fresh process, on a copy of the SQLite store (on
   PostgreSQL: in the scratch schema, last);
5. the database's size.

Targets (issue 19) are reported as pass/FAIL, never asserted. ``lookup_events``: warm p50 <= 20 ms and p99 <= 100 ms,
and with ``--baseline`` (the ``--json`` of a run on a smaller account) p50 no more than 2x the baseline's;
``entity_history``: p50 <= 50 ms; ``who_can``: every call <= 2 s and peak RSS <= 400 MB (stated at 100,000 users);
``what_can``: p50 <= 100 ms; ``projections rebuild``: peak RSS <= 300 MB and at least 40% of the bare replay rate.
``create_user`` with the trail: its mean per write at most 1.25x the baseline's, in the same run.

    python bench/audit.py                                   # 10,000 users, 200,000 events, SQLite
    python bench/audit.py --workdir /tmp/audit              # ... and keep the store (/tmp/audit/audit.db)
    python bench/audit.py --store /tmp/audit/audit.db       # reuse it: no generation
    python bench/audit.py --scale --repeat 5 --budget 600   # 100,000 users, 1,000,000 events
    python bench/audit.py --db postgresql://u:p@127.0.0.1:5432/db   # PostgreSQL too (a scratch schema)
    python bench/audit.py --quick                           # CI smoke: a tiny account, every query twice
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from iamledger import IdentityStore
from iamledger.config import StoreURL, redact
from iamledger.projections.trail.records import LOOKUP_KEYS
from iamledger.projections.views.tables import ACCESS_KEYS, USERS

sys.path.insert(0, str(Path(__file__).parent))
from scale import WHO_CAN_ACTION, WHO_CAN_RESOURCE, database_size, drop_schema, iamledger
from timetravel import bare_replay, percentile

ACCOUNT = "123456789012"
REBUILD_RSS_MB = 300.0
REBUILD_SHARE = 0.40  # of the bare replay rate
LOOKUP_GROWTH = 2.0  # p50 against the baseline run's (--baseline)
WRITE_OVERHEAD = 1.25  # create_user with the new projections against without them (judge_writes)
WRITE_BASE = "create_user + views"  # the write row without the trail: the baseline of the others


# -- targets and measures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a row is judged against; ``None`` bounds are not checked."""

    text: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    rss_mb: float | None = None


LOOKUP = Target("p50 <= 20 ms, p99 <= 100 ms", p50_ms=20.0, p99_ms=100.0)
HISTORY = Target("p50 <= 50 ms", p50_ms=50.0)
WHO_CAN = Target("each <= 2 s, RSS <= 400 MB", max_ms=2000.0, rss_mb=400.0)
WHAT_CAN = Target("p50 <= 100 ms", p50_ms=100.0)
REBUILD = Target(f"RSS <= {REBUILD_RSS_MB:.0f} MB, >= {REBUILD_SHARE:.0%} of replay", rss_mb=REBUILD_RSS_MB)
WRITE = Target(f"mean <= {WRITE_OVERHEAD:.2f}x {WRITE_BASE}")  # judged by judge_writes
NONE = Target("-")


@dataclass
class Measure:
    """One row of the table: the calls of one process (milliseconds, cold first) and its peak RSS."""

    name: str
    target: Target
    unit: str = ""
    calls_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    rss_mb: float = 0.0
    wall_s: float = 0.0
    budget_s: float | None = None
    over_budget: bool = False
    error: str | None = None
    note: str = ""
    checks: list[bool] = field(default_factory=list)  # checks beyond the target's bounds (the rebuild's rate)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def cold_ms(self) -> float | None:
        return self.calls_ms[0] if self.calls_ms else None

    @property
    def warm_ms(self) -> list[float]:
        """The calls after the first; the first alone when it is the only one."""
        return self.calls_ms[1:] or self.calls_ms

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.warm_ms, 0.50) if self.calls_ms else None

    @property
    def p99_ms(self) -> float | None:
        return percentile(self.warm_ms, 0.99) if self.calls_ms else None

    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        target = self.target
        bounds = (target.p50_ms, target.p99_ms, target.max_ms, target.rss_mb)
        judged = any(b is not None for b in bounds) or bool(self.checks)
        if self.over_budget:
            return "FAIL" if judged else "over budget"
        if not judged:
            return "-"
        checks = list(self.checks)
        if target.p50_ms is not None:
            checks.append(self.p50_ms is not None and self.p50_ms <= target.p50_ms)
        if target.p99_ms is not None:
            checks.append(self.p99_ms is not None and self.p99_ms <= target.p99_ms)
        if target.max_ms is not None:
            checks.append(bool(self.calls_ms) and max(self.calls_ms) <= target.max_ms)
        if target.rss_mb is not None:
            checks.append(self.rss_mb <= target.rss_mb)
        return "pass" if all(checks) else "FAIL"

    def result(self) -> str:
        if self.error is not None:
            return self.error
        shown = self.note
        if self.sizes and self.unit:
            low, high = min(self.sizes), max(self.sizes)
            count = f"{low:,}" if low == high else f"{low:,}-{high:,}"
            unit = self.unit.removesuffix("s") if high == 1 else self.unit
            shown = f"{count} {unit}" + (f"; {shown}" if shown else "")
        if self.over_budget:
            stopped = f"stopped at {self.budget_s:g} s"
            shown = f"{stopped} ({len(self.calls_ms)} calls done)" + (f"; {shown}" if shown else "")
        return shown

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = self.target.text
        out |= {"cold_ms": self.cold_ms, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "verdict": self.verdict()}
        return out


# -- the worker: one query kind, repeated, in its own process ----------------------------------------------------


def _lookup_events(store: IdentityStore, params: dict[str, Any], _number: int) -> Any:
    return store.lookup_events(**params)


def _entity_history(store: IdentityStore, params: dict[str, Any], _number: int) -> Any:
    return store.entity_history(params["kind"], params["name"])


def _who_can(store: IdentityStore, params: dict[str, Any], _number: int) -> Any:
    """Consumed as the CLI consumes it: a principal at a time, each written out and let go (``stream_who_can``), so
    the peak RSS is the query's, not that of a list of every principal."""
    parts = store.stream_who_can(**params)
    next(parts)  # the header: the action, the resource and the moment
    principals = 0
    for principal in parts:
        json.dumps(principal, default=str)  # as the CLI writes it (times as text)
        principals += 1
    return {"Principals": range(principals)}


def _what_can(store: IdentityStore, params: dict[str, Any], _number: int) -> Any:
    return store.what_can(**params)


def _catch_up(store: IdentityStore, _params: dict[str, Any], _number: int) -> Any:
    """The views, and the trail's own projection where the store has one (``store.trail``), brought up to the log."""
    store.projector.catch_up()
    _trail_catch_up(store)


def _trail_catch_up(store: IdentityStore) -> None:
    trail = getattr(store, "trail", None)
    if trail is not None and hasattr(trail, "catch_up"):
        trail.catch_up()


TRAIL_BATCH = 10
"""Writes whose records one trail catch-up projects in the ``batched`` write row: the endpoint follows the trail
0.2 s after a write, once for every write of that moment (``QueryApp._follow_trail_soon``)."""


def _create_user(store: IdentityStore, params: dict[str, Any], number: int) -> Any:
    """``follow``: nothing (the write alone), ``views`` (their catch-up after each write: the store without the trail),
    ``each`` (the views' and the trail's after each write) or ``batched`` (the views' after each, the trail's after
    every :data:`TRAIL_BATCH` writes)."""
    answer = store.create_user(UserName=f"{params['prefix']}-{number}")
    follow = params.get("follow")
    if follow in {"views", "each", "batched"}:
        store.projector.catch_up()
    if follow == "each" or (follow == "batched" and number % TRAIL_BATCH == TRAIL_BATCH - 1):
        _trail_catch_up(store)
    return answer


def _open(_store: IdentityStore, _params: dict[str, Any], _number: int) -> Any:
    return None


WORKER_CALLS: dict[str, Callable[[IdentityStore, dict[str, Any], int], Any]] = {
    "open": _open,
    "catch_up": _catch_up,
    "lookup_events": _lookup_events,
    "entity_history": _entity_history,
    "who_can": _who_can,
    "what_can": _what_can,
    "create_user": _create_user,
}


def size_of(answer: Any) -> int:
    """How many things an answer holds (events, records, principals, services...)."""
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, dict):
        for key in ("Events", "Principals", "Services"):
            if key in answer:
                return len(answer[key])
        return 1
    return 0


def picks_of(answer: dict[str, Any]) -> dict[str, str]:
    """Lookup values that exist, from a newest page: the first record's id, name, user, source and read-only flag,
    the first resource on the page, the first access key id on it; and the page's ``NextToken``."""
    events = answer.get("Events", [])
    picks: dict[str, str] = {}
    if events:
        first = events[0]
        for key in ("EventId", "EventName", "ReadOnly", "Username", "EventSource"):
            if first.get(key):
                picks[key] = str(first[key])
    for event in events:
        resources = event.get("Resources") or []
        if resources and "ResourceName" not in picks:
            picks["ResourceType"] = resources[0]["ResourceType"]
            picks["ResourceName"] = resources[0]["ResourceName"]
        access_key = event.get("AccessKeyId") or next(
            (r["ResourceName"] for r in resources if r["ResourceType"] == "AWS::IAM::AccessKey"), None
        )
        if access_key and "AccessKeyId" not in picks:
            picks["AccessKeyId"] = str(access_key)
    if answer.get("NextToken"):
        picks["NextToken"] = answer["NextToken"]
    return picks


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)  # one line each, so a stopped worker's finished calls are kept


def worker(kind: str, url: str, repeat: int, params: dict[str, Any], pick: bool) -> int:
    """Open the store, run ``kind`` ``repeat`` times, print each call's milliseconds as a JSON line."""
    call = WORKER_CALLS[kind]
    started = time.perf_counter()
    store = IdentityStore.open(url, create=False)
    emit({"open_ms": (time.perf_counter() - started) * 1000})
    try:
        for number in range(repeat):
            started = time.perf_counter()
            answer = call(store, params, number)
            elapsed = (time.perf_counter() - started) * 1000
            emit({"ms": elapsed, "size": size_of(answer)})
            if pick and number == 0:
                emit({"picks": picks_of(answer)})
            if kind != "create_user" or number in {0, repeat - 1}:
                print(f"    {kind} call {number + 1}/{repeat}: {elapsed:,.1f} ms", file=sys.stderr, flush=True)
    finally:
        store.close()
    return 0


# -- running processes ---------------------------------------------------------------------------------------------


@dataclass
class Finished:
    seconds: float
    rss_mb: float
    exit_code: int | None  # None: stopped over budget
    stdout: str


def run_process(command: list[str], env: dict[str, str], budget: float | None) -> Finished:
    """Run ``command``: its wall time, peak RSS (MB) and standard output; stopped (SIGKILL) after ``budget`` s. Its
    standard error (progress) goes to ours."""
    print(f"  $ {redact(shlex.join(command))}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, env=env)
        stopped = False
        while True:
            pid, status, usage = os.wait4(process.pid, 0 if budget is None else os.WNOHANG)
            if pid:
                break
            if budget is not None and time.perf_counter() - started >= budget:
                process.kill()
                stopped = True
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    return Finished(elapsed, usage.ru_maxrss / 1024, None if stopped else process.returncode, text)


@dataclass(frozen=True)
class Query:
    name: str
    kind: str
    params: dict[str, Any]
    target: Target
    unit: str = ""


def run_worker(
    query: Query,
    url: str,
    env: dict[str, str],
    repeat: int,
    budget: float | None,
    *,
    pick: bool = False,
    script: Path = Path(__file__),
) -> Measure:
    """Run ``query`` in a worker process of ``script`` (this benchmark, or another that shares its machinery)."""
    command = [sys.executable, str(script.resolve()), "--worker", query.kind, "--store", url]
    command += ["--repeat", str(repeat), "--params", json.dumps(query.params)]
    if pick:
        command.append("--pick")
    finished = run_process(command, env, budget)
    measure = Measure(query.name, query.target, query.unit, rss_mb=finished.rss_mb, wall_s=finished.seconds)
    measure.budget_s = budget
    for line in finished.stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "ms" in record:
            measure.calls_ms.append(float(record["ms"]))
            measure.sizes.append(int(record["size"]))
        else:
            measure.info.update(record)
    if finished.exit_code is None and len(measure.calls_ms) < repeat:
        measure.over_budget = True
    elif finished.exit_code is None:
        measure.note = "stopped after its last call"
    elif finished.exit_code != 0:
        measure.error = f"failed (exit {finished.exit_code}): see stderr"
    return measure


# -- one backend ---------------------------------------------------------------------------------------------------


@dataclass
class Store:
    """The store a backend's run works on."""

    backend: str
    url: str
    env: dict[str, str]
    path: Path | None = None  # SQLite
    schema: str | None = None  # PostgreSQL
    scratch: bool = True  # generated by this run (a PostgreSQL scratch schema is dropped afterwards)


@dataclass
class BackendResult:
    backend: str
    url: str
    reused: bool
    head: int = 0
    size_mb: float = 0.0
    replay_rate: float = 0.0
    user: str = ""
    past_position: int = 0
    values: dict[str, str] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)  # the lookup keys whose value is not from the newest page
    generated: dict[str, Any] = field(default_factory=dict)
    rows: list[Measure] = field(default_factory=list)


def sqlite_url(value: str) -> str:
    return value if "://" in value else f"sqlite:///{Path(value).resolve()}"


def sqlite_path(url: str) -> Path | None:
    return StoreURL.parse(url).path if url.startswith("sqlite:") else None


def prepare_store(backend: str, args: argparse.Namespace, workdir: Path) -> Store:
    env = dict(os.environ)
    if backend == "sqlite":
        if args.store:
            url = sqlite_url(args.store)
            return Store(backend, url, env, path=sqlite_path(url), scratch=False)
        path = workdir / "audit.db"
        return Store(backend, f"sqlite:///{path}", env, path=path)
    schema = parse_qs(urlsplit(args.db).query).get("schema", [None])[0]
    if schema is not None:  # an existing store in that schema: reused, kept
        return Store(backend, args.db, env, schema=schema, scratch=False)
    schema = f"bench_audit_{secrets.token_hex(6)}"
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    # the commands and the workers open the same credential vault, without a key file under ~/.config
    env.setdefault("IAMLEDGER_MASTER_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"))
    return Store(backend, url, env, schema=schema)


def open_store(store: Store) -> IdentityStore:
    key = store.env.get("IAMLEDGER_MASTER_KEY")
    return IdentityStore.open(store.url, master_key=base64.urlsafe_b64decode(key) if key else None, create=False)


def generate(store: Store, args: argparse.Namespace, result: BackendResult) -> None:
    command = iamledger(store.url, "bench", "generate", f"--users={args.users}", f"--groups={args.groups}")
    command += [f"--roles={args.roles}", f"--events={args.events}", f"--seed={args.seed}"]
    finished = run_process(command, store.env, None)
    if finished.exit_code != 0:
        raise SystemExit(f"bench generate failed (exit {finished.exit_code})")
    result.generated = json.loads(finished.stdout)
    result.generated["WallSeconds"] = round(finished.seconds, 1)
    result.generated["PeakRssMB"] = round(finished.rss_mb, 1)


def rebuild(store: Store) -> Measure:
    finished = run_process(iamledger(store.url, "projections", "rebuild"), store.env, None)
    measure = Measure("projections rebuild", REBUILD, calls_ms=[finished.seconds * 1000], rss_mb=finished.rss_mb)
    if finished.exit_code != 0:
        measure.error = f"failed (exit {finished.exit_code})"
    return measure


def survey(store: Store, result: BackendResult, seed: int) -> dict[str, str]:
    """In this process: the head, the bare replay rate, the user the queries follow, the middle of the log; and
    lookup values for when the newest page does not give them (it failed, ran over budget, or shows no access key):
    what every generated account holds, found in the views."""
    opened = open_store(store)
    try:
        opened.projector.catch_up()  # current views, so that no query pays for catching up (after --no-rebuild)
        result.head = opened.projector.head()
        result.past_position = result.head // 2
        result.replay_rate = bare_replay(opened, result.head)
        with opened.engine.connect() as conn:
            users = conn.execute(
                select(USERS.c.user_name, USERS.c.arn)
                .where(USERS.c.valid_to.is_(None), USERS.c.account_id == ACCOUNT)
                .order_by(USERS.c.user_name)
            ).all()
            key = conn.execute(
                select(ACCESS_KEYS.c.access_key_id)
                .where(ACCESS_KEYS.c.owner_kind == "user", ACCESS_KEYS.c.account_id == ACCOUNT)
                .order_by(ACCESS_KEYS.c.valid_from.desc())
                .limit(1)
            ).scalar()
    finally:
        opened.close()
    if not users:
        raise SystemExit(f"no live user in account {ACCOUNT} of {redact(store.url)}")
    name, arn = random.Random(seed).choice(users)
    result.user = name
    result.values["UserArn"] = arn
    fallback = {
        "EventName": "CreateUser",
        "ReadOnly": "false",
        "Username": "root",  # iamledger bench generate acts as the account's root
        "ResourceType": "AWS::IAM::User",
        "ResourceName": name,
        "EventSource": "iam.amazonaws.com",
    }
    return fallback if key is None else {**fallback, "AccessKeyId": str(key)}


def lookup_queries(picks: dict[str, str]) -> list[Query | Measure]:
    """The lookups that follow the newest page: its next page and each attribute alone; in place of those without a
    value, a row that says so."""
    planned: list[Query | Measure] = []
    if "NextToken" in picks:
        params = {"MaxResults": 50, "NextToken": picks["NextToken"]}
        planned.append(Query("lookup_events next page", "lookup_events", params, LOOKUP, "events"))
    else:
        planned.append(Measure("lookup_events next page", LOOKUP, error="no NextToken from the newest page"))
    for key in LOOKUP_KEYS:
        name = f"lookup_events {key}"
        if key in picks:
            params = {"MaxResults": 50, "LookupAttributes": [{"AttributeKey": key, "AttributeValue": picks[key]}]}
            planned.append(Query(name, "lookup_events", params, LOOKUP, "events"))
        else:
            planned.append(Measure(name, LOOKUP, error="no value: the newest page did not finish"))
    return planned


def analysis_queries(result: BackendResult) -> list[Query]:
    who_can = {"ActionName": WHO_CAN_ACTION, "ResourceArn": WHO_CAN_RESOURCE}
    return [
        Query("entity_history user", "entity_history", {"kind": "user", "name": result.user}, HISTORY, "records"),
        Query("who_can now", "who_can", who_can, WHO_CAN, "principals"),
        Query("who_can past", "who_can", {**who_can, "At": result.past_position}, WHO_CAN, "principals"),
        Query("what_can user", "what_can", {"PrincipalArn": result.values["UserArn"]}, WHAT_CAN, "services"),
    ]


def write_queries() -> list[Query]:
    """``create_user`` alone; followed by the views' catch-up (what a write cost before the trail: the baseline);
    by the views' and the trail's after each write; and by the views' after each and the trail's after every
    :data:`TRAIL_BATCH` writes, as the endpoint follows the trail. The last two are judged by their mean per write
    against the baseline's (:func:`judge_writes`): a trail catch-up is paid once for a batch, so a median would
    miss it. The permission index is part of the views, so the baseline includes it (the store has no switch to
    leave it out)."""
    token = secrets.token_hex(3)
    rows = [("create_user", None), (WRITE_BASE, "views"), ("create_user + views + trail", "each")]
    rows.append((f"create_user + views, trail/{TRAIL_BATCH}", "batched"))
    return [
        Query(name, "create_user", {"prefix": f"bench-audit-{token}-{n}", "follow": follow}, NONE if n < 2 else WRITE)
        for n, (name, follow) in enumerate(rows)
    ]


def judge_writes(rows: list[Measure]) -> None:
    """Each judged write row's mean per write against the baseline row's (:data:`WRITE_BASE`), in the same run."""
    base = next((r for r in rows if r.name == WRITE_BASE and r.error is None and r.warm_ms), None)
    if base is None:
        return
    base_mean = sum(base.warm_ms) / len(base.warm_ms)
    for row in rows:
        if row.target is WRITE and row.error is None and row.warm_ms:
            mean = sum(row.warm_ms) / len(row.warm_ms)
            ratio = mean / base_mean
            row.note = f"mean {mean:.2f} ms = {ratio:.2f}x {WRITE_BASE} ({base_mean:.2f})"
            row.checks.append(ratio <= WRITE_OVERHEAD)


def writable_copy(store: Store, workdir: Path) -> Store | None:
    """Where the writes go: a copy of a SQLite store, a scratch PostgreSQL schema itself (it is written last and
    dropped); ``None`` for a reused PostgreSQL schema, which is left as it is."""
    if store.path is None:
        return store if store.scratch else None
    copy = workdir / "audit-writes.db"
    for stale in workdir.glob(copy.name + "*"):
        stale.unlink()
    with sqlite3.connect(store.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    key = store.path.with_name(store.path.name + ".key")
    if key.exists():
        shutil.copy2(key, copy.with_name(copy.name + ".key"))
    return Store(store.backend, f"sqlite:///{copy}", store.env, path=copy)


class Steps:
    """Numbered progress lines on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def __call__(self, name: str) -> None:
        self.done += 1
        print(f"  [{self.done}/{self.total}] {name}", file=sys.stderr, flush=True)


def judge_rebuild(row: Measure, result: BackendResult) -> None:
    """The rebuild's rate against the bare replay of the same log."""
    if row.error is None and row.cold_ms and result.replay_rate:
        rate = result.head / (row.cold_ms / 1000)
        share = rate / result.replay_rate
        row.note = f"{rate:,.0f} ev/s = {share:.0%} of replay {result.replay_rate:,.0f}"
        row.checks.append(share >= REBUILD_SHARE)


def run_queries(
    store: Store, result: BackendResult, args: argparse.Namespace, steps: Steps, fallback: dict[str, str]
) -> None:
    """Every query kind in its own process; the newest page first, as the filtered lookups take their values from
    it."""

    def run(query: Query, *, pick: bool = False) -> Measure:
        steps(query.name)
        return run_worker(query, store.url, store.env, args.repeat, args.budget, pick=pick)

    newest = run(Query("lookup_events newest page", "lookup_events", {"MaxResults": 50}, LOOKUP, "events"), pick=True)
    result.rows.append(newest)
    picks = dict(newest.info.get("picks", {}))
    result.fallbacks = sorted(set(fallback) - set(picks))
    picks = {**fallback, **picks}
    result.values |= {k: picks[k] for k in LOOKUP_KEYS if k in picks}
    for planned in [*lookup_queries(picks), *analysis_queries(result)]:
        if isinstance(planned, Measure):
            steps(f"{planned.name}: {planned.error}")
            result.rows.append(planned)
        else:
            result.rows.append(run(planned))


def run_once(query: Query, store: Store, budget: float | None) -> Measure:
    print(f"  {query.name}", file=sys.stderr, flush=True)
    return run_worker(query, store.url, store.env, 1, budget)


def run_writes(store: Store, result: BackendResult, args: argparse.Namespace, steps: Steps, workdir: Path) -> None:
    target = writable_copy(store, workdir)
    for query in write_queries():
        steps(query.name)
        if target is None:
            result.rows.append(Measure(query.name, WRITE, error="skipped: a reused PostgreSQL store"))
        else:
            result.rows.append(run_worker(query, target.url, target.env, args.writes, args.budget))
    judge_writes(result.rows)
    if target is not None and target is not store and target.path is not None:
        for written in workdir.glob(target.path.name + "*"):
            written.unlink()


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> BackendResult:
    store = prepare_store(backend, args, workdir)
    result = BackendResult(backend, redact(store.url), reused=not store.scratch)
    print(f"== {backend}: {redact(store.url)}", file=sys.stderr, flush=True)
    try:
        if store.scratch:
            generate(store, args, result)
        rebuilt = None if args.no_rebuild else rebuild(store)
        if rebuilt is not None:
            result.rows.append(rebuilt)
        # what the rebuild left to the first reader (the trail's projection, if it does not rebuild it), in a process
        # of its own, so that no query pays for it; and the floor of a worker: opening the store
        result.rows.append(run_once(Query("catch up after rebuild", "catch_up", {}, NONE), store, None))
        opened = run_once(Query("open store only", "open", {}, NONE), store, args.budget)
        opened.calls_ms = [opened.info["open_ms"]] if "open_ms" in opened.info else []
        opened.note = f"process {opened.wall_s:.1f} s (start-up, open)"
        result.rows.append(opened)
        fallback = survey(store, result, args.seed)
        if rebuilt is not None:
            judge_rebuild(rebuilt, result)
        result.size_mb = database_size(store.url, store.path, store.schema)
        steps = Steps(2 + len(LOOKUP_KEYS) + len(analysis_queries(result)) + (2 if args.writes else 0))
        run_queries(store, result, args, steps, fallback)
        if args.writes:
            run_writes(store, result, args, steps, workdir)
    finally:
        if backend == "postgres" and store.scratch and store.schema and not args.keep:
            drop_schema(args.db, store.schema)
        elif backend == "postgres" and store.scratch:
            print(f"  kept the schema: --db '{redact(store.url)}' reuses it", file=sys.stderr)
    return result


# -- the report ----------------------------------------------------------------------------------------------------


def milliseconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def report(results: Sequence[BackendResult], args: argparse.Namespace, baseline: dict[str, Any] | None) -> None:
    for r in results:
        print()
        account = "reused store" if r.reused else f"{args.users:,} users, {args.events:,} events, seed {args.seed}"
        print(f"{r.backend}: {r.url} ({account}); head position {r.head:,}; database {r.size_mb:,.0f} MB")
        print(f"  {args.repeat} calls per query (cold = the first; p50/p99 over the others), budget {args.budget:g} s")
        header = (
            f"{'query':<28}{'calls':>6}{'cold ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'RSS MB':>8}  "
            f"{'result':<46}{'target':<36}verdict"
        )
        print(header)
        print("-" * len(header))
        for m in r.rows:
            p50 = milliseconds(m.p50_ms) if len(m.calls_ms) > 1 else "-"
            p99 = milliseconds(m.p99_ms) if len(m.calls_ms) > 1 else "-"
            if m.over_budget and len(m.calls_ms) < 2:  # no warm call finished
                p50 = p99 = f"> {m.budget_s:g} s"
            print(
                f"{m.name:<28}{len(m.calls_ms):>6}{milliseconds(m.cold_ms):>10}{p50:>10}{p99:>10}{m.rss_mb:>8.0f}  "
                f"{m.result():<45} {m.target.text:<36}{m.verdict()}"
            )
        print(
            f"  user followed: {r.user}; who_can {WHO_CAN_ACTION} on {WHO_CAN_RESOURCE}, past = position "
            f"{r.past_position:,}"
        )
        shown = ", ".join(f"{k}={v}{'*' if k in r.fallbacks else ''}" for k, v in r.values.items() if k != "UserArn")
        print(f"  lookup values: {shown}" + ("  (*: not from the newest page)" if r.fallbacks else ""))
        if r.generated:
            g = r.generated
            print(
                f"  generated {g.get('Events', 0):,} events in {g.get('WallSeconds', 0):.0f} s "
                f"(peak RSS {g.get('PeakRssMB', 0):.0f} MB): {g.get('Users', 0):,} users, {g.get('Groups', 0):,} "
                f"groups, {g.get('Roles', 0):,} roles, {g.get('Policies', 0):,} policies, "
                f"{g.get('RoleSessions', 0):,} role sessions"
            )
        if baseline is not None:
            compare(r, baseline)


def compare(result: BackendResult, baseline: dict[str, Any]) -> None:
    """Each lookup_events p50 against the same row of the baseline run on the same backend (target <= 2x)."""
    before = next((b for b in baseline.get("backends", []) if b["backend"] == result.backend), None)
    if before is None:
        print(f"  no {result.backend} run in the baseline")
        return
    rows = {row["name"]: row for row in before["rows"]}
    print(f"  against the baseline ({before['head']:,} events), lookup_events p50 (target <= {LOOKUP_GROWTH:.0f}x):")
    for m in result.rows:
        old = rows.get(m.name)
        if not m.name.startswith("lookup_events") or old is None or not old.get("p50_ms") or m.p50_ms is None:
            continue
        ratio = m.p50_ms / old["p50_ms"]
        verdict = "pass" if ratio <= LOOKUP_GROWTH and not m.over_budget else "FAIL"
        print(f"    {m.name:<28}{old['p50_ms']:>10,.1f} -> {m.p50_ms:>10,.1f} ms  {ratio:5.2f}x  {verdict}")


def save(path: Path, results: Sequence[BackendResult], args: argparse.Namespace, seconds: float) -> None:
    data = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "finished": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "seconds": round(seconds, 1),
        "account": {"users": args.users, "groups": args.groups, "roles": args.roles, "events": args.events},
        "seed": args.seed,
        "repeat": args.repeat,
        "budget": args.budget,
        "backends": [
            {**{k: v for k, v in asdict(r).items() if k != "rows"}, "rows": [m.as_json() for m in r.rows]}
            for r in results
        ],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


# -- the command line ----------------------------------------------------------------------------------------------


def account_arguments(description: str) -> argparse.ArgumentParser:
    """The options that choose the account and the backends (shared with bench/escalation.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="CI smoke: 200 users, 3,000 events, 2 calls per query")
    parser.add_argument("--scale", action="store_true", help="bench/scale.py's 100,000 users, 1M events, seed 7")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--roles", type=int, default=1_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=3, help="the generator's seed, and the user drawn (default 3)")
    parser.add_argument("--store", help="reuse this generated SQLite store (a path or a URL): no generation")
    parser.add_argument("--db", help="also run on PostgreSQL: a scratch schema, or the store in ?schema=NAME")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--workdir", help="where the SQLite files go (default: a temporary folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL scratch schema")
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    return parser


def arguments() -> argparse.ArgumentParser:
    parser = account_arguments(__doc__.splitlines()[0])
    parser.add_argument("--no-rebuild", action="store_true", help="do not run (nor measure) projections rebuild")
    parser.add_argument("--repeat", type=int, help="calls per query process (default 20; --quick: 2)")
    parser.add_argument("--writes", type=int, help="create_user calls per process (default 100; --quick: 3; 0: none)")
    parser.add_argument("--budget", type=float, help="seconds a query process may run (default 300; --quick: 120)")
    parser.add_argument("--json", help="also save the results to this file")
    parser.add_argument("--baseline", help="the --json of an earlier run (a smaller account): p50 growth of lookups")
    parser.add_argument("--worker", choices=sorted(WORKER_CALLS), help=argparse.SUPPRESS)
    parser.add_argument("--pick", action="store_true", help=argparse.SUPPRESS)
    return parser


def presets(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--quick and --scale; the defaults of the options they change."""
    if args.quick and args.scale:
        parser.error("--quick and --scale are exclusive")
    if args.quick:
        args.users, args.groups, args.roles, args.events = 200, 10, 20, 3000
    if args.scale:
        args.users, args.groups, args.roles, args.events, args.seed = 100_000, 1_000, 2_000, 1_000_000, 7
    defaults = (2, 3, 120.0) if args.quick else (20, 100, 300.0)
    for name, default in zip(("repeat", "writes", "budget"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Apply the presets and check the options; the backends to run."""
    presets(parser, args)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.store:
        path = sqlite_path(sqlite_url(args.store))
        if path is None:
            parser.error("--store takes a SQLite store; for PostgreSQL give --db URL?schema=NAME")
        elif not path.exists():
            parser.error(f"no store at {args.store}")
    if args.db and not args.db.startswith("postgresql://"):
        parser.error("--db takes a postgresql:// URL")
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.db else [])
    if not backends:
        parser.error("--no-sqlite needs --db")
    return backends


def run_backends(
    backends: Sequence[str],
    args: argparse.Namespace,
    prefix: str,
    run: Callable[[str, argparse.Namespace, Path], BackendResult],
) -> tuple[list[BackendResult], float]:
    """``run`` for each backend in a working folder (``--workdir``, else a temporary one, removed after); the
    results and the whole run's seconds (shared with bench/escalation.py)."""
    started = time.perf_counter()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [run(backend, args, workdir) for backend in backends]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return results, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments()
    args = parser.parse_args(argv)
    if args.worker:
        if not args.store:
            parser.error("--worker needs --store")
        return worker(args.worker, sqlite_url(args.store), args.repeat or 1, json.loads(args.params), args.pick)
    backends = check(parser, args)
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    results, seconds = run_backends(backends, args, "iamledger-audit-", run_backend)
    report(results, args, baseline)
    print(f"\nwhole run: {seconds:.0f} s on {os.cpu_count()} cores; {shlex.join(['python', *sys.argv])}")
    if args.json:
        save(Path(args.json), results, args, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
