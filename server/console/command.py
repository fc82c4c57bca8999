"""``iamledger console``: the audit console alone, on a local port, for a store that no endpoint serves.

Like ``serve``, the command lives in the server layer and the command line finds it by its entry point
(``iamledger.commands`` in pyproject.toml); the store URL the root's ``--db`` resolved reaches it through the click
context's ``meta``."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Final

import click

from iamledger.config import CLI_STORE_URL

DEFAULT_PORT: Final = 4580


@click.command("console")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The port (0: any free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the console in the default web browser.")
def console_command(host: str, port: int, open_browser: bool) -> None:
    """Serve the read-only audit console of the store --db (or $IAMLEDGER_DB) names at http://HOST:PORT/console/.

    Sign in with an IAM user's name and console password (and MFA code), or with an access key pair; every page is
    authorized as that principal. `iamledger serve` serves the same console beside the IAM and STS endpoint.
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import BaseRoute, Route

    from iamledger.server.app import console_routes
    from iamledger.server.store_holder import StoreHolder, open_for_serving
    from iamledger.store import IdentityStore

    db: str | None = click.get_current_context().meta.get(CLI_STORE_URL)
    with IdentityStore.open(db, create=False) as probe:  # refuse a missing or uninitialized store up front
        probe.default_account_id()
    holder = StoreHolder(open_store=lambda: open_for_serving(db))

    async def to_console(request: Request) -> Response:
        del request
        return RedirectResponse("/console/", status_code=307)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        holder.current()
        try:
            yield
        finally:
            holder.close()

    routes: list[BaseRoute] = [Route("/", to_console, methods=["GET"]), *console_routes(holder)]
    listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{listener.getsockname()[1]}/console/"
    click.echo(f"iamledger console: {url}")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(
        Starlette(routes=routes, lifespan=lifespan),
        log_level="warning",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[listener])
