"""Virtual MFA devices: a named TOTP seed (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) that a user's
authenticator app holds. The seed itself lives in the credential vault only; events carry the device's name, path,
serial number and whom it is assigned to, never the seed.

A device is identified by its serial number ``arn:aws:iam::ACCOUNT:mfa/PATH/NAME``; two devices may share a name
under different paths. Enabling a device for a user takes two consecutive codes of the device, as AWS does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import datetime
from typing import ClassVar, Final

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import DeleteConflictError, EntityAlreadyExistsError, NoSuchEntityError, TranslatedError
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

TOTP_STEP_SECONDS: Final = 30
TOTP_DIGITS: Final = 6
SEED_BYTES: Final = 20
ENABLE_WINDOW_STEPS: Final = 10  # codes up to five minutes off the store's clock are accepted when enabling
RESYNC_WINDOW_STEPS: Final = 2880  # a device whose clock drifted up to a day can be resynchronized
INVALID_CODE_MESSAGE: Final = "Authentication code for device is not valid."
SIGN_IN_WINDOW_STEPS: Final = 1  # a code given with a request may be a step behind or ahead of the store's clock


def invalid_authentication_code() -> TranslatedError:
    """AWS's error for codes that do not match the device."""
    return TranslatedError("InvalidAuthenticationCode", INVALID_CODE_MESSAGE, 403, sender_fault=True)


def mfa_device_not_found(serial_number: str) -> str:
    """AWS's message for a virtual MFA device that does not exist."""
    return f"VirtualMFADevice with serial number {serial_number} doesn't exist."


def totp(seed_base32: str, counter: int) -> str:
    """The RFC 6238 / RFC 4226 code of ``seed_base32`` (base32 text) for time step ``counter``."""
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def time_step(moment: datetime) -> int:
    """The TOTP time step ``moment`` falls in."""
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def check_consecutive_codes(seed_base32: str, code1: str, code2: str, now: datetime, window: int) -> int:
    """The time step of ``code2`` when ``code1`` and ``code2`` are the device's codes of two consecutive steps
    within ``window`` steps of ``now``; ``InvalidAuthenticationCode`` otherwise."""
    if not (code1.isdigit() and code2.isdigit() and len(code1) == len(code2) == TOTP_DIGITS):
        raise invalid_authentication_code()
    current = time_step(now)
    for step in range(current - window, current + 2):
        if hmac.compare_digest(totp(seed_base32, step), code1) and hmac.compare_digest(
            totp(seed_base32, step + 1), code2
        ):
            return step + 1
    raise invalid_authentication_code()


def code_step(seed_base32: str, code: str, now: datetime, window: int) -> int | None:
    """The time step within ``window`` steps of ``now`` whose code is ``code`` (a one-time code given to sign a
    request, as GetSessionToken's ``TokenCode``), or ``None``."""
    if not (code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    current = time_step(now)
    return next(
        (
            step
            for step in range(current - window, current + window + 1)
            if hmac.compare_digest(totp(seed_base32, step), code)
        ),
        None,
    )


def serial_number_of(account_id: str, path: str, name: str) -> str:
    """A virtual device's serial number: ``arn:aws:iam::ACCOUNT:mfa/PATH/NAME``."""
    return f"arn:aws:iam::{account_id}:mfa{path}{name}"


def device_key_of(account_id: str, serial_number: str) -> str | None:
    """The key (``PATH/NAME``) a serial number names in ``account_id``'s index of devices, or ``None`` when it is no
    virtual device serial of that account."""
    prefix = f"arn:aws:iam::{account_id}:mfa/"
    if not serial_number.startswith(prefix) or len(serial_number) == len(prefix):
        return None
    return serial_number[len(prefix) - 1 :]


class VirtualMFADevice(Taggable, AuditedAggregate):
    """A virtual MFA device; assigned to at most one user at a time."""

    case_insensitive_tag_keys: ClassVar[bool] = False

    kind: ClassVar[str] = "mfa"

    class Created(AuditedAggregate.Created):
        account_id: str
        virtual_mfa_device_name: str
        path: str
        serial_number: str
        tags: list[dict[str, str]]

    def __init__(
        self, account_id: str, virtual_mfa_device_name: str, path: str, serial_number: str, tags: list[dict[str, str]]
    ) -> None:
        self.account_id = account_id
        self.virtual_mfa_device_name = virtual_mfa_device_name
        self.path = path
        self.serial_number = serial_number
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.user_uuid: uuid.UUID | None = None
        self.user_name: str | None = None
        self.enable_date: datetime | None = None
        self.last_step = 0
        self.deleted = False

    # -- assignment -------------------------------------------------------------------------------------------

    class Enabled(AuditedAggregate.Event):
        user_uuid: uuid.UUID
        user_name: str
        time_step: int  # the TOTP step of the last code accepted (no secret: a clock reading)

        def apply(self, aggregate: VirtualMFADevice) -> None:
            aggregate.user_uuid = self.user_uuid
            aggregate.user_name = self.user_name
            aggregate.enable_date = self.timestamp
            aggregate.last_step = self.time_step

    def check_unassigned(self) -> None:
        """``EntityAlreadyExists`` while the device is assigned (to anyone): it cannot be enabled."""
        if self.user_uuid is not None:
            raise EntityAlreadyExistsError("MFA Device is already in use.")

    def _check_assigned_to(self, user_uuid: uuid.UUID, user_name: str) -> None:
        """``NoSuchEntity`` when the device is not assigned to this user."""
        if self.user_uuid != user_uuid:
            raise NoSuchEntityError(f"MFA Device with serial number {self.serial_number} not found for {user_name}.")

    def _check_later_step(self, step: int) -> None:
        """``InvalidAuthenticationCode`` unless ``step`` is later than the last code accepted: a code is never
        accepted twice."""
        if step <= self.last_step:
            raise invalid_authentication_code()

    def enable(self, user_uuid: uuid.UUID, user_name: str, step: int) -> None:
        """Assign the device to a user; ``EntityAlreadyExists`` while it is assigned (to anyone)."""
        self.check_unassigned()
        self._check_later_step(step)
        self.trigger_event(self.Enabled, user_uuid=user_uuid, user_name=user_name, time_step=step)

    class Deactivated(AuditedAggregate.Event):
        user_uuid: uuid.UUID

        def apply(self, aggregate: VirtualMFADevice) -> None:
            aggregate.user_uuid = None
            aggregate.user_name = None
            aggregate.enable_date = None

    def deactivate(self, user_uuid: uuid.UUID, user_name: str) -> None:
        """Take the device from the user it is assigned to; ``NoSuchEntity`` when it is not that user's."""
        self._check_assigned_to(user_uuid, user_name)
        self.trigger_event(self.Deactivated, user_uuid=user_uuid)

    class Resynced(AuditedAggregate.Event):
        time_step: int

        def apply(self, aggregate: VirtualMFADevice) -> None:
            aggregate.last_step = self.time_step

    def resync(self, user_uuid: uuid.UUID, user_name: str, step: int) -> None:
        """Note that the user's device was resynchronized at ``step``; the device must be the user's."""
        self._check_assigned_to(user_uuid, user_name)
        self._check_later_step(step)
        self.trigger_event(self.Resynced, time_step=step)

    # -- tags -------------------------------------------------------------------------------------------------

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    # -- deletion ---------------------------------------------------------------------------------------------

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: VirtualMFADevice) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the device; refused while it is assigned to a user (``DeleteConflict``)."""
        if self.user_uuid is not None:
            raise DeleteConflictError("MFA VirtualDevice in use. Must deactivate first.")
        self.trigger_event(self.Deleted)
