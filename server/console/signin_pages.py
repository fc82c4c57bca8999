"""The sign-in pages: a user's name and password (with the account id, and an MFA code when the user has a device),
or an access key pair; and the MFA step after a correct password. A form sent back after a refusal keeps the names
typed in, never a password, secret key or code."""

from __future__ import annotations

from collections.abc import Mapping

from iamledger.html import document, escape

SIGN_IN_TITLE = "Sign in - iamledger console"


def _field(
    name: str, label: str, *, kind: str = "text", value: str = "", autocomplete: str = "off", hint: str = ""
) -> str:
    described = f' aria-describedby="{name}-hint"' if hint else ""
    hint_html = f' <span class="hint" id="{name}-hint">{escape(hint)}</span>' if hint else ""
    return (
        f'<p class="field"><label for="{name}">{escape(label)}</label> '
        f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}" autocomplete="{autocomplete}"'
        f"{described}>{hint_html}</p>"
    )


def _error(error: str | None) -> str:
    return f'<div class="error" role="alert" id="signin-error"><p>{escape(error)}</p></div>' if error else ""


def signin_form(
    *, next_url: str, error: str | None = None, method: str = "password", form: Mapping[str, str] | None = None
) -> str:
    """The sign-in page: both ways, each its own form."""
    typed = form or {}
    password = (
        '<form method="post" action="/console/signin" id="password-form" aria-labelledby="h-password">'
        '<h2 id="h-password">As an IAM user</h2>'
        '<input type="hidden" name="method" value="password">'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        + _field(
            "account_id",
            "Account ID",
            value=typed.get("account_id", "") if method == "password" else "",
            hint="12 digits; may be left empty when only one account has this user",
        )
        + _field(
            "user_name",
            "User name",
            value=typed.get("user_name", "") if method == "password" else "",
            autocomplete="username",
        )
        + _field("password", "Password", kind="password", autocomplete="current-password")
        + _field(
            "mfa_code",
            "MFA code",
            autocomplete="one-time-code",
            hint="only when the user has an MFA device; it can also be given on the next page",
        )
        + '<p><button type="submit">Sign in</button></p></form>'
    )
    access_key = (
        '<form method="post" action="/console/signin" id="access-key-form" aria-labelledby="h-access-key">'
        '<h2 id="h-access-key">With access keys (CLI credentials)</h2>'
        '<input type="hidden" name="method" value="access-key">'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        + _field(
            "access_key_id", "Access key ID", value=typed.get("access_key_id", "") if method == "access-key" else ""
        )
        + _field("secret_access_key", "Secret access key", kind="password")
        + _field("session_token", "Session token", kind="password", hint="temporary credentials only")
        + '<p><button type="submit">Use access key</button></p></form>'
    )
    intro = (
        "<p>The console only reads: every page is authorized as the principal you sign in as, with the IAM actions "
        "of the same API calls.</p>"
    )
    body = _error(error) + intro + f'<div class="signin-forms">{password}{access_key}</div>'
    return document(SIGN_IN_TITLE, "<h1>Sign in to the iamledger audit console</h1>" + body)


def mfa_form(*, next_url: str, error: str | None = None) -> str:
    """The MFA step: the password was right; a code of the user's device is needed."""
    form = (
        '<form method="post" action="/console/mfa" id="mfa-form">'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        + _field("mfa_code", "MFA code", autocomplete="one-time-code", hint="the 6 digits your authenticator shows")
        + '<p><button type="submit">Submit</button></p></form>'
        '<p><a href="/console/signin">Cancel</a></p>'
    )
    return document(
        "Multi-factor authentication - iamledger console",
        "<h1>Multi-factor authentication</h1>" + _error(error) + "<p>This user has an MFA device.</p>" + form,
    )
