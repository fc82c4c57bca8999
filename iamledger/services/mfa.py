"""Virtual MFA devices: CreateVirtualMFADevice, DeleteVirtualMFADevice, ListVirtualMFADevices, EnableMFADevice,
DeactivateMFADevice, ResyncMFADevice, ListMFADevices, GetMFADevice and the device tags.

The seed (``Base32StringSeed``) is returned once, by CreateVirtualMFADevice, and kept encrypted in the credential
vault; enabling or resynchronizing a device checks two consecutive codes against it (RFC 6238)."""

from __future__ import annotations

import base64
import io
import secrets
import uuid
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import segno
from sqlalchemy import Connection

from iamledger.domain.errors import NoSuchEntityError, ValidationError
from iamledger.domain.names import NameIndex
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.credential_material import current_mfa_devices, find_mfa_device, mfa_devices_of_user
from iamledger.projections.views.tags import current_tags
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import aws_datetime, tags_shape, user_shape
from iamledger.services.user_keys import KeyringBase

if TYPE_CHECKING:
    from iamledger.domain.mfa import VirtualMFADevice

KIND: Final = "mfa"  # VirtualMFADevice.kind (the domain module is imported where a command needs it)
ISSUER: Final = "Amazon Web Services"
ASSIGNMENT_STATUSES: Final = ("Assigned", "Unassigned", "Any")
SERIAL_NUMBER_MAX: Final = 256
"""The longest serial number any call takes (``serialNumberType``): the name a device is created with is limited by
it (226 characters under the path ``/``), although the model gives the name no maximum of its own."""


def seed_secret_id(device_id: uuid.UUID) -> str:
    """The vault id of a device's seed."""
    return f"mfa-seed:{device_id}"


def qr_code_png(account_id: str, device_name: str, seed: str) -> bytes:
    """A PNG of the QR code an authenticator app scans: ``otpauth://totp/...`` with the seed."""
    label = quote(f"{ISSUER}:{device_name}@{account_id}")
    uri = f"otpauth://totp/{label}?secret={seed}&issuer={quote(ISSUER)}"
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4)
    return out.getvalue()


def _check_serial_number_length(serial: str, name: str, path: str) -> None:
    """``ValidationError`` for a device whose serial number would be longer than any call takes: it could never be
    enabled, listed by serial number or deleted (and its QR code could not hold it)."""
    if len(serial) <= SERIAL_NUMBER_MAX:
        return
    fixed = len(serial) - len(path) - len(name)  # arn:aws:iam::123456789012:mfa
    longest = SERIAL_NUMBER_MAX - fixed - len(path)
    if longest >= 1:
        where, value = "virtualMFADeviceName", name
    else:  # the path leaves no room for any name: it may be as long as leaves one character
        where, value = "path", path
        longest = SERIAL_NUMBER_MAX - fixed - 1
    raise ValidationError(
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {longest}"
    )


class MFAService(KeyringBase):
    """The virtual MFA device operations of the store."""

    def _device(self, account_id: str, serial_number: str) -> tuple[VirtualMFADevice, NameIndex]:
        from iamledger.domain.mfa import VirtualMFADevice, device_key_of, mfa_device_not_found

        key = device_key_of(account_id, serial_number)
        if key is None:
            raise NoSuchEntityError(mfa_device_not_found(serial_number))
        device, index = self._entity(account_id, KIND, key, mfa_device_not_found(serial_number))
        assert isinstance(device, VirtualMFADevice)  # noqa: S101 - the index of kind "mfa" only holds devices
        return device, index

    def _seed(self, device: VirtualMFADevice) -> str:
        from iamledger.domain.mfa import mfa_device_not_found

        seed = self.vault.get_secret(seed_secret_id(device.id))
        if seed is None:  # pragma: no cover - a device's seed is saved before the device
            raise NoSuchEntityError(mfa_device_not_found(device.serial_number))
        return seed

    def _user_device_step(
        self,
        account_id: str,
        user_name: str | None,
        serial_number: str,
        code1: str,
        code2: str,
        window: int,
        *,
        unassigned: bool = False,
    ) -> tuple[Any, VirtualMFADevice, int]:
        """EnableMFADevice's and ResyncMFADevice's checks: the user, the device (``unassigned``: checked to be
        assigned to nobody, before the codes), and the time step of ``code2`` when the two codes are the device's for
        consecutive steps within ``window`` steps of now."""
        from iamledger.domain.mfa import check_consecutive_codes

        user = self._keyring_user(account_id, user_name)
        device, _ = self._device(account_id, serial_number)
        if unassigned:
            device.check_unassigned()
        step = check_consecutive_codes(self._seed(device), code1, code2, self.clock(), window)
        return user, device, step

    @command("CreateVirtualMFADevice")
    def create_virtual_mfa_device(
        self,
        account_id: str,
        *,
        VirtualMFADeviceName: str,
        Path: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a virtual MFA device; returns its serial number, its seed and a QR code of it (once only)."""
        from iamledger.domain.mfa import SEED_BYTES, VirtualMFADevice, serial_number_of

        tags = parse_tags(Tags)
        path = Path or "/"
        serial = serial_number_of(account_id, path, VirtualMFADeviceName)
        _check_serial_number_length(serial, VirtualMFADeviceName, path)
        entity_id = uuid.uuid4()
        conflict = "MFADevice entity at the same path and name already exists."
        index = self._claim_name(account_id, KIND, f"{path}{VirtualMFADeviceName}", entity_id, conflict)
        device = VirtualMFADevice.create_with_id(
            entity_id,
            account_id=account_id,
            virtual_mfa_device_name=VirtualMFADeviceName,
            path=path,
            serial_number=serial,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        seed = base64.b32encode(secrets.token_bytes(SEED_BYTES)).decode()
        qr_code = qr_code_png(account_id, VirtualMFADeviceName, seed)  # before saving: nothing is left if it fails
        self.vault.put_secret(
            secret_id=seed_secret_id(entity_id),
            account_id=account_id,
            kind="mfa_seed",
            owner_arn=serial,
            secret=seed,
        )
        try:
            self._save(device, index)
        except BaseException:
            self.vault.delete_secret(seed_secret_id(entity_id))
            raise
        shape = {
            "SerialNumber": serial,
            "Base32StringSeed": seed.encode(),
            "QRCodePNG": qr_code,
        }
        return {"VirtualMFADevice": shape | tags_shape(tags)}

    @command("DeleteVirtualMFADevice")
    def delete_virtual_mfa_device(self, account_id: str, *, SerialNumber: str) -> dict[str, Any]:
        """Delete a virtual MFA device and its seed; ``DeleteConflict`` while it is enabled for a user."""
        device, index = self._device(account_id, SerialNumber)
        device.delete()
        index.release()
        self._save(device, index)
        self.vault.delete_secret(seed_secret_id(device.id))
        return {}

    @query("ListVirtualMFADevices")
    def list_virtual_mfa_devices(
        self,
        conn: Connection,
        account_id: str,
        *,
        AssignmentStatus: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's virtual MFA devices (``Assigned``, ``Unassigned`` or ``Any``), ordered by serial number."""
        status = AssignmentStatus or "Any"
        rows = [
            r
            for r in current_mfa_devices(conn, account_id)
            if status == "Any" or (r["user_uuid"] is not None) == (status == "Assigned")
        ]
        chunk, more = page(rows, Marker, MaxItems)
        devices = []
        for row in chunk:
            shape: dict[str, Any] = {"SerialNumber": row["serial_number"]}
            user = self._user_by_uuid(conn, row["user_uuid"]) if row["user_uuid"] else None
            if user is not None:
                shape["User"] = user_shape(user) | tags_shape(current_tags(conn, user["entity_uuid"]))
                shape["EnableDate"] = aws_datetime(row["enable_date"])
            devices.append(shape | tags_shape(current_tags(conn, row["entity_uuid"])))
        return {"VirtualMFADevices": devices, **more}

    @command("EnableMFADevice")
    def enable_mfa_device(
        self,
        account_id: str,
        *,
        UserName: str,
        SerialNumber: str,
        AuthenticationCode1: str,
        AuthenticationCode2: str,
    ) -> dict[str, Any]:
        """Enable a virtual MFA device for a user: the two codes must be the device's for two consecutive steps."""
        from iamledger.domain.mfa import ENABLE_WINDOW_STEPS

        user, device, step = self._user_device_step(
            account_id,
            UserName,
            SerialNumber,
            AuthenticationCode1,
            AuthenticationCode2,
            ENABLE_WINDOW_STEPS,
            unassigned=True,
        )
        keyring = self._keyring(account_id, user.id)
        device.enable(user.id, user.user_name, step)
        keyring.enable_mfa_device(device.serial_number, device.id)
        self._save(device, keyring)
        return {}

    @command("ResyncMFADevice")
    def resync_mfa_device(
        self,
        account_id: str,
        *,
        UserName: str,
        SerialNumber: str,
        AuthenticationCode1: str,
        AuthenticationCode2: str,
    ) -> dict[str, Any]:
        """Resynchronize a user's device whose clock drifted: two consecutive codes within a day of now."""
        from iamledger.domain.mfa import RESYNC_WINDOW_STEPS

        user, device, step = self._user_device_step(
            account_id, UserName, SerialNumber, AuthenticationCode1, AuthenticationCode2, RESYNC_WINDOW_STEPS
        )
        device.resync(user.id, user.user_name, step)
        self._save(device)
        return {}

    @command("DeactivateMFADevice")
    def deactivate_mfa_device(
        self, account_id: str, *, SerialNumber: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """Take a device from the user it is enabled for (the calling user without ``UserName``)."""
        user = self._keyring_user(account_id, UserName)
        device, _ = self._device(account_id, SerialNumber)
        device.deactivate(user.id, user.user_name)
        keyring = self._keyring(account_id, user.id)
        keyring.deactivate_mfa_device(device.serial_number, device.id)
        self._save(device, keyring)
        return {}

    @query("ListMFADevices")
    def list_mfa_devices(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The MFA devices enabled for a user (the calling user without ``UserName``)."""
        user = self._user_row_of(conn, account_id, UserName)
        rows, more = page(mfa_devices_of_user(conn, user["entity_uuid"]), Marker, MaxItems)
        devices = [
            {
                "UserName": user["user_name"],
                "SerialNumber": r["serial_number"],
                "EnableDate": aws_datetime(r["enable_date"]),
            }
            for r in rows
        ]
        return {"MFADevices": devices, **more}

    @query("GetMFADevice")
    def get_mfa_device(
        self, conn: Connection, account_id: str, *, SerialNumber: str, UserName: str | None = None
    ) -> dict[str, Any]:
        """The MFA device ``SerialNumber`` as enabled for a user (for ``UserName`` only, when given): its user, serial
        number and enable date. AWS answers this for FIDO security keys, which the store cannot hold (they are
        registered in the console, through no API); here it answers for the virtual devices it holds."""
        from iamledger.domain.mfa import mfa_device_not_found

        user = self._user_row_of(conn, account_id, UserName) if UserName is not None else None
        row = find_mfa_device(conn, account_id, SerialNumber)
        owner = self._user_by_uuid(conn, row["user_uuid"]) if row is not None and row["user_uuid"] else None
        if owner is None or (user is not None and owner["entity_uuid"] != user["entity_uuid"]):
            raise NoSuchEntityError(mfa_device_not_found(SerialNumber))
        assert row is not None  # noqa: S101 - an owner was found through the row
        return {
            "UserName": owner["user_name"],
            "SerialNumber": row["serial_number"],
            "EnableDate": aws_datetime(row["enable_date"]),
        }

    @command("TagMFADevice")
    def tag_mfa_device(self, account_id: str, *, SerialNumber: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or overwrite tags of a virtual MFA device (keys are case-sensitive); at most 50."""
        device, _ = self._device(account_id, SerialNumber)
        device.tag(parse_tags(Tags))
        self._save(device)
        return {}

    @command("UntagMFADevice")
    def untag_mfa_device(self, account_id: str, *, SerialNumber: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags of a virtual MFA device."""
        device, _ = self._device(account_id, SerialNumber)
        device.untag(TagKeys)
        self._save(device)
        return {}

    @query("ListMFADeviceTags")
    def list_mfa_device_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        SerialNumber: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a virtual MFA device."""
        from iamledger.domain.mfa import mfa_device_not_found

        row = find_mfa_device(conn, account_id, SerialNumber)
        if row is None:
            raise NoSuchEntityError(mfa_device_not_found(SerialNumber))
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}
