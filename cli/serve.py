"""``iamledger serve``: the AWS-compatible IAM and STS endpoint, for boto3, the aws CLI and Terraform."""

from __future__ import annotations

import socket

import click

from iamledger.cli.session import state
from iamledger.domain.ids import check_account_id


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=4566, show_default=True, help="The port (0: any free one)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (only 1 for now: several workers are the next increment).",
)
@click.option(
    "--ephemeral",
    is_flag=True,
    help="Serve a temporary store, deleted on exit, whose account root signs with --access-key-id and "
    "--secret-access-key (random and printed when not given). Offers POST /moto-api/reset.",
)
@click.option(
    "--account-id",
    metavar="ID",
    default=None,
    help="With --ephemeral: the account's 12-digit id (default 123456789012).",
)
@click.option("--access-key-id", metavar="KEY", help="With --ephemeral: the root's access key id.")
@click.option(
    "--secret-access-key",
    metavar="SECRET",
    envvar="IAMLEDGER_EPHEMERAL_SECRET_ACCESS_KEY",
    help="With --ephemeral: the root's secret access key. Env: IAMLEDGER_EPHEMERAL_SECRET_ACCESS_KEY.",
)
def serve_command(
    host: str,
    port: int,
    workers: int,
    ephemeral: bool,
    account_id: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> None:
    """Serve AWS's IAM and STS Query API on one URL: point boto3 or the aws CLI at it with --endpoint-url.

    Every request is verified with SigV4 against the store's own keys and authorized by the store's policies; writes
    are recorded with the caller, its access key id, source IP, user agent and request id. Without --ephemeral the
    store is the one --db (or $IAMLEDGER_DB) names, which `iamledger init` must have created.
    """
    import uvicorn

    from iamledger.server.app import StoreHolder, create_app
    from iamledger.server.ephemeral import DEFAULT_ACCOUNT_ID, EphemeralStores
    from iamledger.store import IdentityStore

    if workers != 1:
        raise click.UsageError("--workers above 1 is not available yet: run one worker per process for now.")
    if not ephemeral and (account_id or access_key_id or secret_access_key):
        raise click.UsageError("--account-id, --access-key-id and --secret-access-key go with --ephemeral.")
    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("Give both --access-key-id and --secret-access-key, or neither.")
    stores: EphemeralStores | None = None
    if ephemeral:
        stores = EphemeralStores(
            account_id=check_account_id(account_id or DEFAULT_ACCOUNT_ID),
            access_key_id=access_key_id or "",
            secret_access_key=secret_access_key or "",
        )
        holder = stores.holder()
    else:
        db = state().db
        with IdentityStore.open(db, create=False) as probe:  # refuse a missing or uninitialized store up front
            probe.default_account_id()
        holder = StoreHolder(open_store=lambda: IdentityStore.open(db, create=False))
    listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    # Accepted connections inherit TCP_NODELAY: without it a response's headers and body, written separately, wait
    # for the client's delayed ACK (about 50 ms per request on loopback).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_port = listener.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    click.echo(f"iamledger endpoint: http://{url_host}:{bound_port}/ (IAM and STS)")
    if stores is not None:
        click.echo(f"ephemeral store, account {stores.account_id}; root access key id: {stores.access_key_id}")
        if stores.generated:
            click.echo(f"root secret access key: {stores.secret_access_key}")
    config = uvicorn.Config(create_app(holder), log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])
