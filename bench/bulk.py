"""Benchmark: bulk import. Events/s of `iamledger import authorization-details` on a generated account, against the
bare `eventsourcing` batched save rate measured in the same run.

For each size, a realistic account dump (users in one to three groups, attached and inline policies, tags, roles with
trust policies and attached policies, customer managed policies with one to three versions) is generated in memory
and imported into a fresh store; the import saves its aggregates in batches (500 aggregates per transaction). Then,
in the same run and on the same kind of database, the baseline: a bare ``eventsourcing`` application saving the same
events, as many a transaction as the import saved on average. The import also plans (compares the dump with
the store), names entities (name-index aggregates) and extends the hash chain at save time; the baseline saves the
very events the import recorded (decoded back from the store), so the ratio says what all that costs.

Target (reported, never asserted): the import at least 50% of the bare batched save rate.

    python bench/bulk.py                       # 2,000 and 20,000 users on SQLite
    python bench/bulk.py --quick               # CI smoke run: 50 and 200 users, a few seconds
    python bench/bulk.py --db postgresql://u:p@127.0.0.1:5432/db   # also on PostgreSQL (a scratch schema)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from eventsourcing.application import Application

from iamledger import IdentityStore
from iamledger.config import StoreURL

ACCOUNT = "123456789012"
ARN = f"arn:aws:iam::{ACCOUNT}"
BATCH = 500  # aggregates per save, as the importer's default
SERVICES = ("s3", "ec2", "dynamodb", "sqs", "sns", "lambda", "kms", "logs")
AWS_POLICIES = ("arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")


class Progress:
    """A one-line progress display on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.last = label, max(total, 1), 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if total:
            self.total = total
        if now - self.last >= 0.5 or done >= self.total:
            self.last = now
            sys.stderr.write(f"\r  {self.label}: {done:,}/{self.total:,} ({100 * done / self.total:.0f}%)   ")
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")


def _document(rng: random.Random) -> dict[str, Any]:
    statements = []
    for _ in range(rng.randint(1, 3)):
        service = rng.choice(SERVICES)
        statements.append(
            {
                "Effect": rng.choice(("Allow", "Allow", "Allow", "Deny")),
                "Action": [f"{service}:{rng.choice(('Get', 'Put', 'List', 'Describe'))}*"],
                "Resource": f"arn:aws:{service}:::{rng.choice(('data', 'logs', 'app'))}-{rng.randint(1, 50)}/*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z"


def generate_dump(users: int, rng: random.Random) -> dict[str, Any]:
    """An account of ``users`` users, ``users/20`` groups, ``users/4`` roles and ``users/10`` managed policies."""
    groups = max(2, users // 20)
    roles = max(2, users // 4)
    policies = max(3, users // 10)
    policy_arns = [f"{ARN}:policy/p{i}" for i in range(policies)]
    dump: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for i in range(policies):
        versions = rng.randint(1, 3)
        dump["Policies"].append(
            {
                "PolicyName": f"p{i}",
                "PolicyId": f"ANPA{i:016d}",
                "Arn": policy_arns[i],
                "Path": "/",
                "DefaultVersionId": f"v{versions}",
                "CreateDate": _date(rng),
                "UpdateDate": _date(rng),
                "PolicyVersionList": [
                    {
                        "VersionId": f"v{v}",
                        "IsDefaultVersion": v == versions,
                        "CreateDate": _date(rng),
                        "Document": _document(rng),
                    }
                    for v in range(versions, 0, -1)
                ],
            }
        )
    for i in range(groups):
        dump["GroupDetailList"].append(
            {
                "Path": "/",
                "GroupName": f"g{i}",
                "GroupId": f"AGPA{i:016d}",
                "Arn": f"{ARN}:group/g{i}",
                "CreateDate": _date(rng),
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in rng.sample(policy_arns, 2)
                ],
            }
        )
    for i in range(users):
        inline = [{"PolicyName": "own", "PolicyDocument": _document(rng)}] if rng.random() < 0.3 else []
        dump["UserDetailList"].append(
            {
                "Path": "/",
                "UserName": f"u{i}",
                "UserId": f"AIDA{i:016d}",
                "Arn": f"{ARN}:user/u{i}",
                "CreateDate": _date(rng),
                "UserPolicyList": inline,
                "GroupList": [f"g{g}" for g in rng.sample(range(groups), rng.randint(1, min(3, groups)))],
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a}
                    for a in rng.sample(policy_arns, rng.randint(0, 2))
                ],
                "Tags": [{"Key": "team", "Value": f"t{rng.randint(1, 9)}"}],
            }
        )
    for i in range(roles):
        dump["RoleDetailList"].append(
            {
                "Path": "/",
                "RoleName": f"r{i}",
                "RoleId": f"AROA{i:016d}",
                "Arn": f"{ARN}:role/r{i}",
                "CreateDate": _date(rng),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": f"{rng.choice(SERVICES)}.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "InstanceProfileList": [],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a}
                    for a in [*rng.sample(policy_arns, 1), rng.choice(AWS_POLICIES)]
                ],
                "Tags": [],
                "RoleLastUsed": {},
            }
        )
    return dump


# -- the baseline: eventsourcing alone ---------------------------------------------------------------------------


class Bare(Application[uuid.UUID]):
    """eventsourcing's Application and nothing else: no audit context, views, hash chain or name indexes."""


class Flushes(Progress):
    """The import's progress display, counting its saves (one call per batch saved)."""

    def __init__(self, label: str) -> None:
        super().__init__(label, 1)
        self.calls = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        self.calls += 1
        super().__call__(done, total)


def bare_batched_save(store: IdentityStore, bare_url: str, per_save: int, progress: Progress) -> tuple[int, float]:
    """Events/s of eventsourcing alone saving the very events the import recorded (decoded from the store), into a
    fresh database of the same kind, ``per_save`` events a transaction (the import's average)."""
    events = []
    position = 0
    while True:
        notifications = store.recorder.select_notifications(start=position + 1, limit=1000)
        if not notifications:
            break
        events += [store.mapper.to_domain_event(n) for n in notifications]
        position = notifications[-1].id
    app = Bare(env=StoreURL.parse(bare_url).eventsourcing_env())
    try:
        started = time.perf_counter()
        for start in range(0, len(events), per_save):
            app.save(*events[start : start + per_save])
            progress(min(start + per_save, len(events)), len(events))
        elapsed = time.perf_counter() - started
    finally:
        app.close()
    progress.done()
    return len(events), len(events) / elapsed


# -- runs --------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    users: int
    events: int
    import_rate: float
    bare_rate: float
    seconds: float

    @property
    def ratio(self) -> float:
        return self.import_rate / self.bare_rate


@contextmanager
def scratch_urls(backend: str, postgres: str | None, workdir: Path, users: int) -> Iterator[tuple[str, str]]:
    """Two fresh databases of ``backend``: one for the store, one for the baseline."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'bulk-{users}.db'}", f"sqlite:///{workdir / f'bare-{users}.db'}"
        return
    if postgres is None:
        raise SystemExit("PostgreSQL needs --db")
    engine = sqlalchemy.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    names = [f"bench_bulk_{users}_{uuid.uuid4().hex[:8]}", f"bench_bare_{users}_{uuid.uuid4().hex[:8]}"]
    with engine.begin() as conn:
        for name in names:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{postgres}?schema={names[0]}", f"{postgres}?schema={names[1]}"
    finally:
        with engine.begin() as conn:
            for name in names:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


def run_size(backend: str, postgres: str | None, workdir: Path, users: int, seed: int) -> Result:
    print(f"\n== {backend}: an account of {users:,} users", flush=True)
    dump = generate_dump(users, random.Random(seed))
    with (
        scratch_urls(backend, postgres, workdir, users) as (store_url, bare_url),
        IdentityStore.open(store_url, create=True) as store,
    ):
        progress = Flushes("import")
        started = time.perf_counter()
        summary = store.import_authorization_details(dump, source="generated", progress=progress)
        seconds = time.perf_counter() - started
        progress.done()
        events = int(summary["Events"])
        import_rate = events / seconds
        per_save = max(1, round(events / max(1, progress.calls)))
        _, bare_rate = bare_batched_save(store, bare_url, per_save, Progress("bare eventsourcing save", events))
    result = Result(backend, users, events, import_rate, bare_rate, seconds)
    print(
        f"   {events:,} events in {seconds:.1f} s: import {import_rate:,.0f} ev/s, bare save {bare_rate:,.0f} ev/s, "
        f"ratio {result.ratio:.0%}",
        flush=True,
    )
    return result


def report(results: Sequence[Result]) -> None:
    print("\n| backend | users | events | import ev/s | bare save ev/s | import / bare | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.backend} | {r.users:,} | {r.events:,} | {r.import_rate:,.0f} | {r.bare_rate:,.0f} | "
            f"{r.ratio:.0%} | {r.seconds:.1f} |"
        )
    worst = min(r.ratio for r in results)
    verdict = "met" if worst >= 0.5 else "NOT met"  # the target
    print(f"\ntarget: import >= 50% of the bare batched save rate: {verdict} ({worst:.0%})")
    print(json.dumps([r.__dict__ | {"ratio": r.ratio} for r in results]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a CI smoke run (50 and 200 users)")
    parser.add_argument("--users", help="comma-separated account sizes in users (default 2000,20000)")
    parser.add_argument("--db", help="also run on this PostgreSQL URL (scratch schemas, dropped afterwards)")
    parser.add_argument("--workdir", help="where the SQLite files go (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.users.split(",")] if args.users else ([50, 200] if args.quick else [2000, 20_000])
    if args.db and not args.db.startswith("postgresql://"):
        parser.error("--db takes a postgresql:// URL (SQLite always runs)")
    os.environ.setdefault("IAMLEDGER_MASTER_KEY", "aWFtbGVkZ2VyLWJlbmNoLW9ubHktbWFzdGVyLWtleSE=")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="iamledger-bulk-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        backends = ["sqlite"] + (["postgres"] if args.db else [])
        results = [run_size(b, args.db, workdir, users, args.seed) for b in backends for users in sizes]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
