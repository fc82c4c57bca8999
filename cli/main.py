"""The root of the ``iamledger`` command: global options, command groups, and error reporting as the aws CLI does.

Exit codes follow the aws CLI: 0 success, 2 usage error, 254 an error returned by the store (printed as
``An error occurred (Code) when calling the Op operation: message``), 255 anything else.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import click

from iamledger.cli.completion import COMPLETE_VAR, PROG_NAME
from iamledger.cli.group import PATH_KEY, LazyCommand, RootGroup
from iamledger.logconfig import configure_logging, get_logger

if TYPE_CHECKING:
    import jmespath.parser

    from iamledger.domain.policy.errors import AwsError

# The commands, imported only when one is run or completed into: `iamledger --version`, `--help`, shell completion
# and a usage error import no store (tests/test_cli_startup.py checks this, and that each help here is the command's).
COMMANDS: Final = {
    "init": LazyCommand(
        "Create the store (if needed), its first account and that account's root access key.",
        "iamledger.cli.init:init_command",
    ),
    "quickstart": LazyCommand(
        "Import an AWS account dump (FILE, or the real example dump shipped with iamledger) into a fresh store "
        "(./iamledger-quickstart.db unless --db names one) and walk through what the store can answer: who is in "
        "which group, what a role can do, an assume-role, a change, and the same question asked before and after the "
        "change with the events that explain the difference.",
        "iamledger.cli.quickstart:quickstart_command",
    ),
    "account": LazyCommand(
        "Accounts held by this store (one store can hold several, for cross-account access).",
        "iamledger.cli.accounts:account_group",
    ),
    "login": LazyCommand(
        "Sign in as an IAM user with its console password and print the console session: the user's ARN, its "
        "account, whether the password must be reset or has expired, and when the session ends.",
        "iamledger.cli.login:login_command",
    ),
    "audit": LazyCommand(
        "Audit the store's history: event lookup, permissions as of any moment, reverse queries, diffs, tamper "
        "evidence.",
        "iamledger.cli.audit_group:audit_group",
        registers=(
            "iamledger.cli.audit_analysis",  # simulate-principal-policy, who-can, what-can, diff, exposure
            "iamledger.cli.audit_escalation",  # escalation-paths, who-can-escalate
            "iamledger.cli.audit_events",  # lookup-events, history
            "iamledger.cli.audit_sessions",  # list-sessions
            "iamledger.cli.audit_verify",  # verify
            "iamledger.cli.audit_findings",  # findings
            "iamledger.cli.audit_report",  # report
        ),
    ),
    "projections": LazyCommand(
        "Operate the SQL views built from the event log: status, rebuild, verify, follow.",
        "iamledger.cli.projections:projections_group",
    ),
    "import": LazyCommand("Load identities from AWS into the store, as events.", "iamledger.cli.transfer:import_group"),
    "export": LazyCommand("Print the store's identities in AWS's shapes.", "iamledger.cli.transfer:export_group"),
    "bench": LazyCommand("Generate synthetic data to try the store at scale.", "iamledger.cli.bench:bench_group"),
    "completion": LazyCommand(
        "Print the shell completion script of bash, zsh or fish: source it from the shell's start-up file.",
        "iamledger.cli.completion:completion_command",
    ),
    "sts": LazyCommand(
        "AWS STS operations: temporary credentials, role assumption, caller identity.",
        "iamledger.cli.service:sts_group",
    ),
    "iam": LazyCommand("AWS IAM operations: users, groups, roles, policies, ...", "iamledger.cli.service:iam_group"),
    # The endpoint's, loaded by its entry point (iamledger.commands): the CLI never imports the server.
    "serve": LazyCommand(
        "Serve AWS's IAM and STS Query API on one URL: point boto3 or the aws CLI at it with --endpoint-url."
    ),
    # The audit console's, loaded by its entry point too (issue 23).
    "console": LazyCommand(
        "Serve the read-only audit console of the store --db (or $IAMLEDGER_DB) names at http://HOST:PORT/console/."
    ),
}
EXIT_USAGE: Final = 2
EXIT_SERVICE_ERROR: Final = 254
EXIT_OTHER_ERROR: Final = 255
# Options that belong to the root but that aws CLI users habitually type after the command.
HOISTED_OPTIONS: Final = (
    "--db",
    "--read-db",
    "--read-timeout",
    "--output",
    "--query",
    "--account-id",
    "--as",
    "--profile",
    "--log-level",
    "--log-format",
    "--debug",
    "--region",
    "--endpoint-url",
    "--no-verify-ssl",
    "--no-cli-pager",
    "--color",
    "--cli-read-timeout",
    "--cli-connect-timeout",
)
# Those of them that take no value.
HOISTED_FLAGS: Final = frozenset({"--debug", "--no-verify-ssl", "--no-cli-pager"})
# Commands whose operation name is not the PascalCase of their own name.
OPERATION_NAMES: Final[dict[tuple[str, ...], str]] = {
    ("account", "create"): "CreateAccount",
    ("account", "list"): "ListAccounts",
    ("account", "get"): "GetAccount",
    ("bench", "generate"): "BenchGenerate",
}

log = get_logger(__name__)


def _compile_query(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> jmespath.parser.ParsedResult | None:
    """``--query``, compiled before anything runs: a bad expression is refused as the aws CLI refuses it (exit 255),
    and no write happens."""
    del ctx, param
    if value is None:
        return None
    import jmespath
    import jmespath.exceptions

    try:
        return jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as error:
        from iamledger.cli.refusals import InputError

        raise InputError(f"Bad value for --query {value}: {error}") from None


@click.group(
    "iamledger", cls=RootGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--db",
    metavar="URL",
    envvar="IAMLEDGER_DB",
    help="Database URL: sqlite:///path.db (default sqlite:///./iamledger.db) or postgresql://user:pass@host/db. "
    "Env: IAMLEDGER_DB.",
)
@click.option(
    "--read-db",
    metavar="URL",
    envvar="IAMLEDGER_READ_DB",
    help="A hot standby of the PostgreSQL store for audit and --at reads (postgresql://...; without ?schema= the "
    "store's schema); writes stay on --db. Env: IAMLEDGER_READ_DB.",
)
@click.option(
    "--read-timeout",
    metavar="SECONDS",
    type=float,
    envvar="IAMLEDGER_READ_TIMEOUT",
    help="How long a read on --read-db waits for a position the standby has not reached, then fails with "
    "ReplicaBehind (default 5). Env: IAMLEDGER_READ_TIMEOUT.",
)
@click.option(
    "--output",
    type=click.Choice(["json", "table", "text", "jsonl", "csv"]),
    default="json",
    show_default=True,
    help="Output format, as the aws CLI's.",
)
@click.option(
    "--query",
    metavar="JMESPATH",
    callback=_compile_query,
    help="A JMESPath query applied to the result before it is printed, as the aws CLI's (--query Policy.Arn).",
)
@click.option("--account-id", metavar="ID", help="The account to act in (default: the store's first account).")
@click.option(
    "--as",
    "as_arn",
    metavar="ARN",
    help="Act as this principal (a user or assumed-role ARN): its policies decide what the command may do.",
)
@click.option(
    "--profile",
    metavar="NAME",
    help="Act as the owner of this profile's access key in the aws CLI credentials file (~/.aws/credentials).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    show_default=True,
    help="Log lines on stderr: console on a terminal, JSON lines otherwise (auto).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="The least severe log level shown.",
)
@click.option("--debug", is_flag=True, help="Turn on debug logging (--log-level DEBUG), as the aws CLI's --debug.")
@click.option(
    "--region",
    metavar="REGION",
    help="Accepted as the aws CLI's, and without effect: IAM and STS are global services (us-east-1).",
)
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="Accepted as the aws CLI's, and ignored with a warning: iamledger acts on the store --db names (`iamledger "
    "serve` is the endpoint that `aws --endpoint-url` talks to).",
)
@click.option(
    "--no-verify-ssl", is_flag=True, help="Accepted as the aws CLI's, and without effect: no HTTPS is involved."
)
@click.option("--no-cli-pager", is_flag=True, help="Accepted as the aws CLI v2's: iamledger never pages its output.")
@click.option(
    "--color",
    type=click.Choice(["on", "off", "auto"]),
    default="auto",
    show_default=True,
    help="Colours (tables as the aws CLI's, the diff and exposure timelines, quickstart's headings): on, off, or auto "
    "(on a terminal only).",
)
@click.option(
    "--cli-read-timeout",
    type=int,
    metavar="SECONDS",
    help="Accepted as the aws CLI's, and without effect: no network call is made (see --read-timeout).",
)
@click.option(
    "--cli-connect-timeout",
    type=int,
    metavar="SECONDS",
    help="Accepted as the aws CLI's, and without effect: no network call is made.",
)
@click.version_option(None, "--version", package_name="iamledger", prog_name=PROG_NAME, message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    read_db: str | None,
    read_timeout: float | None,
    output: str,
    account_id: str | None,
    as_arn: str | None,
    profile: str | None,
    log_format: str,
    log_level: str,
    query: jmespath.parser.ParsedResult | None,
    debug: bool,
    region: str | None,
    endpoint_url: str | None,
    no_verify_ssl: bool,
    no_cli_pager: bool,
    color: str,
    cli_read_timeout: int | None,
    cli_connect_timeout: int | None,
) -> None:
    """iamledger: AWS IAM's core as an event-sourced identity store with a full audit trail."""
    from iamledger.cli.session import CliState
    from iamledger.config import CLI_STORE_URL

    del region, no_verify_ssl, no_cli_pager, cli_read_timeout, cli_connect_timeout  # the aws CLI's, without effect
    configure_logging(level="DEBUG" if debug else log_level, log_format=log_format)  # type: ignore[arg-type]
    ctx.color = {"on": True, "off": False}.get(color)  # inherited by every command's context
    log.debug("cli_started", command=ctx.invoked_subcommand, output=output, query=query is not None, python=sys.version)
    if query is not None and ctx.invoked_subcommand in {"quickstart", "serve", "console", "completion"}:
        # A walkthrough, a server's banner, a shell script: no result for a query to select from.
        msg = f"--query does not apply to `iamledger {ctx.invoked_subcommand}`, which prints no result."
        raise click.UsageError(msg)
    if endpoint_url is not None:
        click.echo(
            "Warning: --endpoint-url is ignored: iamledger acts on the store --db names "
            "(aws --endpoint-url talks to `iamledger serve`).",
            err=True,
        )
    ctx.meta[CLI_STORE_URL] = db  # for the commands other packages add (serve), which do not import the CLI
    ctx.obj = CliState(
        db=db,
        output=output,  # type: ignore[arg-type]
        account_id=account_id,
        as_arn=as_arn,
        profile=profile,
        query=query,
        read_db=read_db,
        read_timeout=read_timeout,
    )


def _leaf_command(args: Sequence[str]) -> click.Command | None:
    """The command ``args`` name, found by walking the non-option words through the groups."""
    command: click.Command = cli
    ctx = click.Context(cli)
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
            continue
        if arg.startswith("-"):
            skip_value = "=" not in arg and arg in HOISTED_OPTIONS and arg not in HOISTED_FLAGS
            continue
        if not isinstance(command, click.Group) or getattr(command, "argparse_commands", False):
            break
        sub = command.get_command(ctx, arg)
        if sub is None:
            break
        command = sub
    return command


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """Move root options typed after the command (``iamledger iam list-users --output table``) to the front,
    except those the command itself defines (``account create --account-id``)."""
    leaf = _leaf_command(args)
    own = {opt for p in (leaf.params if leaf is not None else []) for opt in getattr(p, "opts", [])}
    first_word = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if i > first_word and name in HOISTED_OPTIONS and name not in own:
            if "=" in arg or i + 1 >= len(args) or name in HOISTED_FLAGS:
                front.append(arg)
                i += 1
            else:
                front.extend(args[i : i + 2])
                i += 2
            continue
        rest.append(arg)
        i += 1
    return front + rest


def operation_name(path: Sequence[str]) -> str:
    """The operation a command path stands for: ``("iam", "create-user")`` is ``CreateUser``."""
    explicit = OPERATION_NAMES.get(tuple(path))
    if explicit is not None:
        return explicit
    leaf = path[-1] if path else "iamledger"
    return "".join(part.capitalize() for part in leaf.split("-"))


def _store_error() -> type[AwsError]:
    # Imported only once an error is on its way out: a command that never reached the store spares the import.
    # The base of the store's errors and of the policy language's (an action name that is none).
    from iamledger.domain.policy.errors import AwsError

    return AwsError


GC_THRESHOLDS: Final = (50_000, 50, 100)
"""The garbage collector's thresholds in a command's process, as in a serving one (``iamledger serve``): Python's
default, a young collection every 700 allocations, collects over and over while a command imports its modules and
loads botocore's models, about a tenth of a read command's CPU (docs/performance.md, "CLI start-up"). Collection
stays on: cycles are still freed. (Opening the store then freezes what start-up made: ``session.start_up``.)"""


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit with the aws CLI's exit codes. With ``_IAMLEDGER_COMPLETE`` set, answer the
    shell's completion request instead (click's protocol; ``iamledger completion SHELL`` prints the script)."""
    gc.set_threshold(*GC_THRESHOLDS)
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:
        from click.shell_completion import shell_complete

        sys.exit(shell_complete(cli, {}, PROG_NAME, COMPLETE_VAR, instruction))
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    ctx: click.Context | None = None
    try:
        with cli.make_context(PROG_NAME, args) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_OTHER_ERROR)
    except _store_error() as error:
        path = ctx.meta.get(PATH_KEY, []) if ctx is not None else []
        click.echo(
            f"\nAn error occurred ({error.code}) when calling the {operation_name(path)} operation: {error.message}",
            err=True,
        )
        sys.exit(EXIT_SERVICE_ERROR)
    except OSError as error:
        click.echo(f"\n{type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_OTHER_ERROR)
    sys.exit(0)
