"""The IAM credential report (GenerateCredentialReport / GetCredentialReport): one CSV line per principal with
long-term credentials, in AWS's column set and value vocabulary (``N/A``, ``no_information``, ``not_supported``,
ISO 8601 times with ``+00:00``).

The first line is the account's root user (``<root_account>``), then the account's users in creation order. The
report shows the state when it is read; ``GeneratedTime`` is when ``GenerateCredentialReport`` started it (a report
lives four hours, as AWS's does).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from iamledger.domain.credentials import KeyUse, PasswordPolicy

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.domain.user_keys import UserKeyring
    from iamledger.domain.users import User

COLUMNS: Final = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
NA: Final = "N/A"
ROOT: Final = "<root_account>"
NOT_SUPPORTED: Final = "not_supported"


def report_time(moment: datetime) -> str:
    """AWS's form of a time in the report: ``2024-05-01T12:30:00+00:00``."""
    return moment.isoformat(timespec="seconds")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _key_cells(keys: Sequence[tuple[str, datetime, KeyUse | None]]) -> list[str]:
    """The five cells of each of the first two access keys: active, last rotated, last used date, region, service."""
    cells: list[str] = []
    for index in range(2):
        if index >= len(keys):
            cells += ["false", NA, NA, NA, NA]
            continue
        status, created, used = keys[index]
        cells += [_flag(status == "Active"), report_time(created)]
        cells += [NA, NA, NA] if used is None else [report_time(used.date), used.region, used.service_name]
    return cells


def root_line(account: Account, created: datetime) -> list[str]:
    """The root user's line: its password fields are ``not_supported`` (AWS reports them elsewhere)."""
    uses = account.root_access_key_uses
    keys = [(k.status, k.create_date, uses.get(k.access_key_id)) for k in account.root_access_keys.values()]
    head = [ROOT, account.root_arn, report_time(created), NOT_SUPPORTED, NA, NOT_SUPPORTED, NOT_SUPPORTED, "false"]
    return head + _key_cells(keys) + ["false", NA, "false", NA]


def user_line(
    user: User, created: datetime, policy: PasswordPolicy | None, keyring: UserKeyring | None = None
) -> list[str]:
    """A user's line. ``password_last_used`` is ``no_information`` for a password (its uses are not recorded);
    ``mfa_active`` and the certificate columns come from the user's keyring (enabled MFA devices, signing
    certificates, oldest first)."""
    profile = user.login_profile
    if profile is None:
        password = ["false", NA, NA, NA]
    else:
        rotation = NA
        if policy is not None and policy.max_password_age:
            rotation = report_time(profile.password_last_changed + timedelta(days=policy.max_password_age))
        password = ["true", "no_information", report_time(profile.password_last_changed), rotation]
    keys = [(k.status, k.create_date, k.last_used) for k in user.access_keys.values()]
    mfa = keyring is not None and bool(keyring.mfa_devices)
    head = [user.user_name, user.arn, report_time(created), *password, _flag(mfa)]
    return [*head, *_key_cells(keys), *_certificate_cells(keyring)]


def _certificate_cells(keyring: UserKeyring | None) -> list[str]:
    """``cert_N_active`` and ``cert_N_last_rotated`` of the first two signing certificates."""
    certificates = [] if keyring is None else sorted(keyring.signing_certificates.values(), key=lambda c: c.upload_date)
    cells: list[str] = []
    for index in range(2):
        if index < len(certificates):
            cells += [_flag(certificates[index].status == "Active"), report_time(certificates[index].upload_date)]
        else:
            cells += ["false", NA]
    return cells


def render(lines: Iterable[list[str]]) -> bytes:
    """The CSV text of the report (``\\n`` line ends, no final newline), as bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow(line)
    return out.getvalue().rstrip("\n").encode("utf-8")
