"""``iamledger serve``: the AWS-compatible IAM and STS endpoint, for boto3, the aws CLI and Terraform.

The command is the endpoint's, so it lives here, and the ``iamledger`` command line finds it by its entry point
(``iamledger.commands`` in pyproject.toml), as a plugin: the CLI never imports the server, nor the server the CLI
(design section 8). The store URL the root's ``--db`` resolved reaches it through the click context's ``meta``
(:data:`~iamledger.config.CLI_STORE_URL`).
"""

from __future__ import annotations

import contextlib
import socket

import click

from iamledger.config import CLI_STORE_URL
from iamledger.domain.ids import check_account_id


def _trusted_proxies(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """Check ``--forwarded-allow-ips`` now, so a typo stops the command instead of trusting or ignoring something;
    the value is kept as text (the worker processes are given it in their environment)."""
    from iamledger.server.proxies import TrustedProxies  # here, not at the top: the package imports the whole server

    try:
        TrustedProxies.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None
    return value or ""


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
    help="Worker processes sharing the port (PostgreSQL stores only; SQLite and --ephemeral serve with 1).",
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
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    default=None,
    callback=_trusted_proxies,
    help="The proxies in front of the endpoint: comma-separated IP addresses and CIDR networks, or * (any peer). "
    "A request from one of them has its client address (aws:SourceIp, the trail's sourceIPAddress) taken from "
    "X-Forwarded-For, read from the right. Default: none; the client address is the TCP peer's and no forwarding "
    "header is read.",
)
def serve_command(
    host: str,
    port: int,
    workers: int,
    ephemeral: bool,
    account_id: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    forwarded_allow_ips: str,
) -> None:
    """Serve AWS's IAM and STS Query API on one URL: point boto3 or the aws CLI at it with --endpoint-url.

    Every request is verified with SigV4 against the store's own keys and authorized by the store's policies; writes
    are recorded with the caller, its access key id, source IP, user agent and request id. Without --ephemeral the
    store is the one --db (or $IAMLEDGER_DB) names, which `iamledger init` must have created.
    """
    import uvicorn

    from iamledger.server.app import create_app
    from iamledger.server.ephemeral import DEFAULT_ACCOUNT_ID, EphemeralStores
    from iamledger.server.proxies import TrustedProxies
    from iamledger.server.store_holder import StoreHolder, open_for_serving
    from iamledger.store import IdentityStore

    if not ephemeral and (account_id or access_key_id or secret_access_key):
        raise click.UsageError("--account-id, --access-key-id and --secret-access-key go with --ephemeral.")
    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("Give both --access-key-id and --secret-access-key, or neither.")
    stores: EphemeralStores | None = None
    db: str | None = click.get_current_context().meta.get(CLI_STORE_URL)  # None: $IAMLEDGER_DB
    if workers > 1:
        _check_workers(db, ephemeral=ephemeral)
    if ephemeral:
        stores = EphemeralStores(
            account_id=check_account_id(account_id or DEFAULT_ACCOUNT_ID),
            access_key_id=access_key_id or "",
            secret_access_key=secret_access_key or "",
        )
        holder = stores.holder()
    else:
        with IdentityStore.open(db, create=False) as probe:  # refuse a missing or uninitialized store up front
            probe.default_account_id()
        holder = StoreHolder(open_store=lambda: open_for_serving(db))
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
    # Last, so that the lines before keep their places for the scripts that read them.
    click.echo(f"audit console: http://{url_host}:{bound_port}/console/ (docs/console.md)")
    if workers > 1:
        from iamledger.config import StoreURL

        _serve_workers(StoreURL.parse(db).url, workers, listener, forwarded_allow_ips)  # db None: $IAMLEDGER_DB
        return
    config = uvicorn.Config(
        create_app(holder, server_process=True, trusted_proxies=TrustedProxies.parse(forwarded_allow_ips)),
        log_level="warning",
        lifespan="on",
        access_log=False,
        # The application reads X-Forwarded-For itself, from the proxies named only: uvicorn's own middleware would
        # believe it from loopback (or $FORWARDED_ALLOW_IPS) whatever --forwarded-allow-ips says.
        proxy_headers=False,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down cleanly, then re-raised it
        uvicorn.Server(config).run(sockets=[listener])


def _check_workers(db: str | None, *, ephemeral: bool) -> None:
    """Refuse ``--workers N`` where several processes would not share one store."""
    from iamledger.config import StoreURL

    if ephemeral:
        raise click.UsageError(
            "--workers above 1 does not go with --ephemeral: each worker would serve a temporary store of its own."
        )
    if StoreURL.parse(db).backend != "postgres":
        raise click.UsageError(
            "--workers above 1 needs a PostgreSQL store: SQLite lets one process write at a time, so extra workers "
            "would only wait for each other. Serve a SQLite store with one worker."
        )


def _serve_workers(db: str, workers: int, listener: socket.socket, forwarded_allow_ips: str) -> None:
    """Run ``workers`` uvicorn worker processes on ``listener``, each opening the store ``db`` names and believing
    the proxies ``forwarded_allow_ips`` names."""
    import logging
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from iamledger.server.app import FORWARDED_ALLOW_IPS_ENV, LOG_LEVEL_ENV, STORE_ENV

    os.environ[STORE_ENV] = db  # the spawned workers inherit it; app_from_environment reads it
    # Set even when empty: a value this process inherited must not make the workers trust what the option does not.
    os.environ[FORWARDED_ALLOW_IPS_ENV] = forwarded_allow_ips
    os.environ[LOG_LEVEL_ENV] = logging.getLevelName(logging.getLogger().level)
    click.echo(f"{workers} worker processes")
    config = uvicorn.Config(
        "iamledger.server.app:app_from_environment",
        factory=True,
        workers=workers,
        log_level="warning",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # as in one process: the application alone reads X-Forwarded-For
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[listener]).run()
