"""The audit console: read-only HTML pages over the served store at ``/console/`` (docs/console.md).

:class:`~iamledger.server.console.app.Console` is the application; ``iamledger serve`` mounts it beside the endpoint,
``iamledger console`` serves it alone (:mod:`iamledger.server.console.command`)."""
