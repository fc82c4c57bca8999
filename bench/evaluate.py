"""Benchmark: warm policy decisions per second, against moto's IAM policy evaluation as a baseline.

A principal with 10 identity policies and about 50 statements (action wildcards, resource wildcards and
conditions) is asked a stream of (action, resource) questions. The same questions over the condition-free copy of
the policies go through iamledger and through moto's ``IAMPolicy.is_action_permitted`` (moto's own combining:
any Deny wins, else any Allow). Targets: >= 100,000 decisions/s on one core, >= 10x moto.

    python bench/evaluate.py            # full run
    python bench/evaluate.py --quick    # CI smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from iamledger.domain.policy import (
    AppliedPolicy,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    evaluate,
    request_context,
)

ACCOUNT = "111122223333"
SERVICES = ("s3", "ec2", "iam", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "cloudwatch")
VERBS = ("Get", "Put", "List", "Describe", "Create", "Delete", "Update", "Tag")
NOUNS = ("Object", "Bucket", "Instance", "User", "Table", "Queue", "Topic", "Function", "Key", "LogGroup")

CONDITIONS: tuple[dict[str, Any], ...] = (
    {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}},
    {"StringLike": {"aws:userid": "AIDA*"}},
)


def _resource(service: str, rng: random.Random) -> str:
    name = f"r{rng.randrange(20)}"
    if service == "s3":
        return f"arn:aws:s3:::bucket-{name}/path/{rng.randrange(5)}/obj"
    if service == "iam":
        return f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:thing/{name}"


def build_policies(rng: random.Random, *, with_conditions: bool) -> list[str]:
    """Ten policies of five statements each, with a fixed seed."""
    policies = []
    for number in range(10):
        statements = []
        for index in range(5):
            service = SERVICES[(number + index) % len(SERVICES)]
            verb = rng.choice(VERBS)
            shape = rng.randrange(4)
            action: str | list[str]
            if shape == 0:
                action = f"{service}:{verb}*"
            elif shape == 1:
                action = [f"{service}:{verb}{rng.choice(NOUNS)}", f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"]
            elif shape == 2:
                action = f"{service}:*"
            else:
                action = f"{service}:{verb}{rng.choice(NOUNS)}"
            resource = rng.choice(["*", _resource(service, rng).rsplit("/", 1)[0] + "/*", _resource(service, rng)])
            statement: dict[str, Any] = {
                "Sid": f"P{number}S{index}",
                "Effect": "Deny" if rng.random() < 0.1 else "Allow",
                "Action": action,
                "Resource": resource,
            }
            if with_conditions and rng.random() < 0.4:
                statement["Condition"] = rng.choice(CONDITIONS)
            statements.append(statement)
        policies.append(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return policies


def build_requests(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Questions: an action (sometimes in another case) and a resource."""
    requests = []
    for _ in range(count):
        service = rng.choice(SERVICES)
        action = f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"
        if rng.random() < 0.2:
            action = action.lower()
        requests.append((action, _resource(service, rng)))
    return requests


def rate(run: Callable[[], int], minimum_seconds: float, label: str) -> float:
    """Decisions per second of ``run`` (which returns how many decisions it made), repeated for at least
    ``minimum_seconds``."""
    run()  # warm-up: compile, fill the caches
    decisions = 0
    started = time.perf_counter()
    elapsed = 0.0
    live = sys.stderr.isatty()  # a live counter on a terminal; one line a second in a log
    shown = 0.0
    while elapsed < minimum_seconds:
        decisions += run()
        elapsed = time.perf_counter() - started
        if live:
            print(f"  {label}: {decisions:,} decisions in {elapsed:.2f}s", file=sys.stderr, end="\r")
        elif elapsed - shown >= 1.0:
            shown = elapsed
            print(f"  {label}: {decisions:,} decisions in {elapsed:.2f}s", file=sys.stderr)
    if live:
        print(file=sys.stderr)
    return decisions / elapsed


def iamledger_runner(policies: Sequence[str], requests: Sequence[tuple[str, str]]) -> Callable[[], int]:
    principal = Principal.user(ACCOUNT, "alice", path="/team/", unique_id="AIDAEXAMPLEALICE01", tags={"team": "data"})
    context = request_context(principal, now=datetime(2024, 5, 1, tzinfo=UTC), source_ip="10.1.2.3")
    policy_set = PolicySet(
        identity=tuple(AppliedPolicy.from_text(text, PolicySource(f"policy-{n}")) for n, text in enumerate(policies))
    )
    prepared = [Request(principal, action, resource, context) for action, resource in requests]

    def run() -> int:
        for request in prepared:
            evaluate(request, policy_set)
        return len(prepared)

    return run


def moto_runner(policies: Sequence[str], requests: Sequence[tuple[str, str]]) -> Callable[[], int] | str:
    """A runner over moto's evaluator, or the reason it is unavailable."""
    try:
        from moto.iam.access_control import IAMPolicy, PermissionResult
    except ImportError as error:
        return f"moto is not installed ({error}); install it with: pip install 'moto[iam]'"
    compiled = [IAMPolicy(text) for text in policies]
    denied, permitted = PermissionResult.DENIED, PermissionResult.PERMITTED

    def run() -> int:
        for action, resource in requests:
            allowed = False
            for policy in compiled:
                result = policy.is_action_permitted(action, resource)
                if result == denied:
                    allowed = False
                    break
                if result == permitted:
                    allowed = True
            del allowed
        return len(requests)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a CI smoke run")
    parser.add_argument("--requests", type=int, default=None, help="distinct questions per round (default 2000)")
    parser.add_argument("--seconds", type=float, default=None, help="minimum timing per measurement (default 3)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    count = args.requests or (200 if args.quick else 2000)
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    rng = random.Random(args.seed)
    with_conditions = build_policies(random.Random(args.seed), with_conditions=True)
    without_conditions = build_policies(random.Random(args.seed), with_conditions=False)
    requests = build_requests(rng, count)
    statements = sum(len(json.loads(text)["Statement"]) for text in with_conditions)
    conditional = sum("Condition" in s for text in with_conditions for s in json.loads(text)["Statement"])
    print(f"principal: {len(with_conditions)} policies, {statements} statements ({conditional} with conditions)")
    print(f"questions: {count} distinct (action, resource) pairs, warm caches")

    ours = rate(iamledger_runner(with_conditions, requests), seconds, "iamledger (with conditions)")
    print(f"iamledger, with conditions:       {ours:>12,.0f} decisions/s")
    ours_plain = rate(iamledger_runner(without_conditions, requests), seconds, "iamledger (condition-free)")
    print(f"iamledger, condition-free:        {ours_plain:>12,.0f} decisions/s")
    baseline = moto_runner(without_conditions, requests)
    if isinstance(baseline, str):
        print(f"moto baseline skipped: {baseline}")
        return 0
    theirs = rate(baseline, seconds, "moto (condition-free)")
    print(f"moto IAMPolicy, condition-free:   {theirs:>12,.0f} decisions/s")
    print(f"ratio iamledger/moto (condition-free): {ours_plain / theirs:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
