"""Policy size quotas (reference section 6.4). IAM does not count whitespace between JSON tokens.

Each helper returns a :class:`SizeLimit` to pass as ``max_size`` to
:func:`iamledger.domain.policy.parser.parse`; inline-policy quotas are an aggregate over all inline policies of the
entity, so a store sums :func:`policy_size` over them and uses :meth:`SizeLimit.check`.
"""

from __future__ import annotations

from dataclasses import dataclass

from iamledger.domain.policy.errors import PolicySizeExceeded
from iamledger.domain.policy.jsontext import JsonSyntaxError, read_json

USER_INLINE_CHARS = 2048
GROUP_INLINE_CHARS = 5120
ROLE_INLINE_CHARS = 10240
MANAGED_POLICY_CHARS = 6144
TRUST_POLICY_CHARS = 2048
TRUST_POLICY_MAX_ADJUSTED_CHARS = 4096
SESSION_POLICY_CHARS = 2048


@dataclass(frozen=True)
class SizeLimit:
    """A quota of ``chars`` characters (whitespace not counted) and the error AWS reports when it is exceeded."""

    chars: int
    message: str
    code: str = "LimitExceeded"

    def check(self, size: int) -> None:
        """Raise :class:`PolicySizeExceeded` if ``size`` is over the quota."""
        if size > self.chars:
            raise PolicySizeExceeded(self.message, code=self.code, size=size, limit=self.chars)


def policy_size(text: str) -> int:
    """The size IAM counts for ``text``: its length without the whitespace between JSON tokens (whitespace inside
    strings counts). Text that is not JSON is measured without any whitespace."""
    try:
        return read_json(text).significant_chars
    except JsonSyntaxError:
        return sum(1 for char in text if char not in " \t\r\n")


def user_inline_limit(user_name: str) -> SizeLimit:
    """All inline policies of one user together: 2,048 characters."""
    return SizeLimit(
        USER_INLINE_CHARS, f"Maximum policy size of {USER_INLINE_CHARS} bytes exceeded for user {user_name}"
    )


def group_inline_limit(group_name: str) -> SizeLimit:
    """All inline policies of one group together: 5,120 characters."""
    return SizeLimit(
        GROUP_INLINE_CHARS, f"Maximum policy size of {GROUP_INLINE_CHARS} bytes exceeded for group {group_name}"
    )


def role_inline_limit(role_name: str) -> SizeLimit:
    """All inline policies of one role together: 10,240 characters."""
    return SizeLimit(
        ROLE_INLINE_CHARS, f"Maximum policy size of {ROLE_INLINE_CHARS} bytes exceeded for role {role_name}"
    )


def managed_policy_limit() -> SizeLimit:
    """Each version of a managed policy: 6,144 characters."""
    return SizeLimit(MANAGED_POLICY_CHARS, f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARS}")


def trust_policy_limit(quota: int = TRUST_POLICY_CHARS) -> SizeLimit:
    """A role trust policy: 2,048 characters by default, adjustable up to 4,096."""
    return SizeLimit(quota, f"Cannot exceed quota for ACLSizePerRole: {quota}")


def session_policy_limit() -> SizeLimit:
    """The inline session policy of AssumeRole*/GetFederationToken: 2,048 characters."""
    return SizeLimit(
        SESSION_POLICY_CHARS,
        "Packed policy consumes more than the allowed size for session policies",
        code="PackedPolicyTooLarge",
    )
