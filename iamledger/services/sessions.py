"""Temporary credentials valid at a moment: the role sessions and session tokens of an account.

Not an IAM operation (IAM keeps no list of sessions); iamledger answers it from the access-keys view, where every
``ASIA`` key is a row with its issue time (``create_date``) and ``Expiration``. Under ``store.at(T)`` the sessions are
those issued at or before T that had not expired at T.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iamledger.asof import as_of_time
from iamledger.domain.errors import NoSuchEntityError
from iamledger.projections.engine.temporal import read_position, reading_at, reading_now
from iamledger.projections.views.roles import find_role
from iamledger.projections.views.sessions import valid_sessions
from iamledger.services.base import ServiceBase, translated
from iamledger.services.shapes import aws_datetime


class SessionsService(ServiceBase):
    """``list_sessions``: the temporary credentials valid now, or at the moment of ``store.at(T)``."""

    def list_sessions(self, *, RoleName: str | None = None) -> dict[str, Any]:
        """The temporary credentials of the account valid at the moment read (now, or ``store.at``'s time):
        ``{"Sessions": [{"Arn", "AccessKeyId", "IssuedAt", "Expiration"}], "AsOf": time}``, oldest first;
        ``RoleName`` keeps the sessions of one role. Never a secret or a session token."""
        position = read_position()
        with reading_now():
            account_id = self.current_account_id()
            self.projector.catch_up()
        moment: datetime = as_of_time() or self.clock()
        with reading_at(position), translated(), self.engine.connect() as conn:
            prefix = None
            if RoleName is not None:
                role = find_role(conn, account_id, RoleName)
                if role is None:
                    raise NoSuchEntityError(f"The role with name {RoleName} cannot be found.")
                prefix = f"arn:aws:sts::{account_id}:assumed-role/{role['role_name']}/"
            rows = valid_sessions(conn, account_id, moment, owner_arn_prefix=prefix)
            sessions = [
                {
                    "Arn": row["owner_arn"],
                    "AccessKeyId": row["access_key_id"],
                    "IssuedAt": aws_datetime(row["create_date"]),
                    "Expiration": row["expiration"],
                }
                for row in rows
            ]
        return {"Sessions": sessions, "AsOf": aws_datetime(moment)}
