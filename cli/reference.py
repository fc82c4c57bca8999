"""The reference page of the generated ``iamledger iam`` commands: ``python -m iamledger.cli.reference iam``.

``tests/test_docs.py`` checks that ``docs/iam-commands.md`` equals what this prints, so the page never drifts from
the commands the store implements.
"""

from __future__ import annotations

import sys

from iamledger.awsmodel import operation_model, paginator_config
from iamledger.cli.arguments import HIDDEN_PAGING_MEMBERS, option_name, summary
from iamledger.cli.service import implemented_operations


def render(service: str) -> str:
    """Markdown: every implemented command of ``service`` with its options (required ones in bold)."""
    lines = [
        f"# `iamledger {service}` commands",
        "",
        f"Generated from botocore's model of {service.upper()} (`python -m iamledger.cli.reference {service}`): one",
        "command per operation the store implements, with the aws CLI's options. Global options (`--db`, `--output`,",
        "`--account-id`) may come before or after the command. Paginated commands take `--max-items`,",
        "`--starting-token`, `--page-size` and `--no-paginate`, as the aws CLI's.",
        "",
    ]
    for command, operation in implemented_operations(service).items():
        op = operation_model(service, operation)
        paginated = paginator_config(service, operation) is not None
        shape = op.input_shape
        members = [] if shape is None else [m for m in shape.members if not (paginated and m in HIDDEN_PAGING_MEMBERS)]
        required = set() if shape is None else set(shape.required_members)
        options = ", ".join(f"**`{option_name(m)}`**" if m in required else f"`{option_name(m)}`" for m in members)
        lines += [f"### `iamledger {service} {command}`", "", summary(op), ""]
        if options:
            lines += [f"Options: {options}.", ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "iam"))
