"""``iamledger bench generate``: a synthetic organisation and its history, for trying the store at scale.

The figures in docs/performance.md ("A million events") come from a store this command built.
"""

from __future__ import annotations

import time
from typing import Final

import click

from iamledger.cli.group import Group
from iamledger.cli.projections import progress_reporter
from iamledger.cli.session import emit, open_store, state
from iamledger.generate import GenerateSpec, generate

DEFAULT_ACCOUNT: Final = "123456789012"


@click.group("bench", cls=Group)
def bench_group() -> None:
    """Generate synthetic data to try the store at scale."""


@bench_group.command("generate")
@click.option("--users", type=click.IntRange(min=1), default=1000, show_default=True, help="Users the org reaches.")
@click.option("--groups", type=click.IntRange(min=1), default=50, show_default=True, help="Groups it reaches.")
@click.option("--roles", type=click.IntRange(min=1), default=100, show_default=True, help="Roles it reaches.")
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Events in its history (at least two per user, group, role and policy).",
)
@click.option(
    "--policies",
    type=click.IntRange(min=1),
    help="Customer managed policies it reaches (default: one per 100 users, at least 3).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="The seed of the generator's random choices.")
def generate_command(users: int, groups: int, roles: int, events: int, policies: int | None, seed: int) -> None:
    """Build a realistic synthetic organisation and its history into the store (--db), in a new account (the global
    --account-id, default 123456789012; a new store is initialised).

    The organisation grows to the given populations over about the first 60% of the events while it lives:
    users are onboarded into their team's groups and later join and leave others; customer managed policies get new
    versions and new defaults; managed policies (customer and AWS) are attached and detached; inline policies come
    and go; trust policies change; access keys are created, deactivated, used and deleted; users are tagged,
    renamed, given boundaries, and leave (removed from everything, then deleted, then replaced); roles are assumed.
    Each change is saved as the events the IAM command would record, under its own request id, as the account's
    root, in transactions of about 2,000 events, with a progress bar on stderr.

    The views are not built here: run `iamledger projections rebuild` (or any read) afterwards. Prints the
    populations reached, the events written and the rate.
    """
    account_id = state().account_id or DEFAULT_ACCOUNT
    spec = GenerateSpec(
        users=users, groups=groups, roles=roles, events=events, policies=policies, seed=seed, account_id=account_id
    )
    spec.check()
    with open_store(create=True) as store, progress_reporter("Generating events") as progress:
        started = time.perf_counter()
        result = generate(store, spec, progress)
        seconds = time.perf_counter() - started
    click.echo(
        f"Generated {result.events:,} events in {seconds:.1f} s ({result.events / seconds:,.0f} events/s). "
        "Build the views with `iamledger projections rebuild`.",
        err=True,
    )
    emit(
        {
            "AccountId": account_id,
            "Events": result.events,
            "Requests": result.requests,
            "FirstPosition": result.first_position,
            "LastPosition": result.last_position,
            "Users": result.users,
            "UsersDeleted": result.users_deleted,
            "Groups": result.groups,
            "Roles": result.roles,
            "Policies": result.policies,
            "RoleSessions": result.role_sessions,
            "Seconds": round(seconds, 3),
            "EventsPerSecond": round(result.events / seconds, 1),
            "Seed": seed,
        },
        title="BenchGenerate",
    )
