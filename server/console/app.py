"""The console's ASGI application, mounted at ``/console`` by ``iamledger serve`` and ``iamledger console``.

A request for a page is checked in this order: the session cookie (signed with the key derived from the store's
master key, :mod:`~iamledger.server.console.session`; missing, forged or expired: to the sign-in page), the access
key it signed in with (still active), then the page runs the store's reads under an audit context whose actor is
the session's principal: nothing the browser sends besides that signed cookie says who the caller is. A refusal is
the store's own (``AccessDenied`` with AWS's message, a 403 page), bad input a 400 page; an unexpected failure is
logged (never with a secret) and shown as a plain 500 page.

The only POSTs are sign-in, its MFA step and sign-out. They are refused when the browser says they come from another
origin (``Origin``, else ``Referer``), and the cookie is ``SameSite=Strict``: another site can neither sign a
visitor in nor out, nor read a page with the visitor's session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import IdentityStoreError
from iamledger.domain.policy.errors import AwsError
from iamledger.html import asset
from iamledger.logconfig import get_logger
from iamledger.projections.engine.serving import ServingProjector
from iamledger.server.console import analysis, pages
from iamledger.server.console.assets import SLIDER_JS
from iamledger.server.console.session import (
    COOKIE_NAME,
    COOKIE_PATH,
    MFA_COOKIE_NAME,
    MFA_PURPOSE,
    MFA_STEP_LIFETIME,
    ConsoleSession,
    CookieCodec,
    derive_cookie_key,
)
from iamledger.server.console.signin import (
    MfaPending,
    SignInError,
    UsedCodes,
    anonymous_context,
    complete_mfa,
    session_still_valid,
    sign_in_with_access_key,
    sign_in_with_password,
)
from iamledger.server.console.signin_pages import mfa_form, signin_form
from iamledger.server.console.web import SLIDER_NAME, BadRequest, PageContext, error_page, frame, href, is_relative
from iamledger.server.proxies import TrustedProxies
from iamledger.server.store_holder import StoreHolder
from iamledger.store import IdentityStore

log = get_logger(__name__)

Page = Callable[[PageContext], tuple[str, str]]
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES: Final = 16_384
ASSET_TYPES: Final = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    SLIDER_NAME: "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",  # linked by every page, so a browser does not ask for /favicon.ico
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


class Console:
    """The console over the store ``holder`` serves; see the module docstring."""

    def __init__(self, holder: StoreHolder, proxies: TrustedProxies | None = None) -> None:
        self.holder = holder
        self.proxies = proxies
        self.used_codes = UsedCodes()
        self.verified = pages.VerifyMemory()
        self._codecs: dict[bytes, CookieCodec] = {}

    # -- the request's parts -------------------------------------------------------------------------------------

    def codec(self, store: IdentityStore) -> CookieCodec:
        master = store._require_master_key()  # noqa: SLF001 - the vault's key, only to derive the cookie key
        found = self._codecs.get(master)
        if found is None:  # one per master key: a store replaced (ephemeral reset) signs with its own
            found = self._codecs[master] = CookieCodec(derive_cookie_key(master))
        return found

    def source_ip(self, request: Request) -> str | None:
        address = request.client.host if request.client else None
        if self.proxies is not None:
            address = self.proxies.client_address(address, request.scope["headers"])
        return address

    def scheme(self, request: Request) -> str:
        """``https`` or ``http`` as the browser sees it: a believed proxy's ``X-Forwarded-Proto`` (it ended TLS),
        else the request's own."""
        peer = request.client.host if request.client else None
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if self.proxies is not None and self.proxies.is_proxy(peer) and forwarded in {"http", "https"}:
            return forwarded
        return request.url.scheme

    def session_of(self, request: Request, store: IdentityStore) -> ConsoleSession | None:
        session = self.codec(store).session(request.cookies.get(COOKIE_NAME), store.clock())
        if session is None or not session_still_valid(store, session):
            return None
        return session

    def set_cookie(self, response: Response, request: Request, name: str, value: str, expires: datetime) -> None:
        response.set_cookie(
            name,
            value,
            expires=expires,
            path=COOKIE_PATH,
            secure=self.scheme(request) == "https",
            httponly=True,
            samesite="strict",
        )

    def same_origin(self, request: Request) -> bool:
        """Whether a POST comes from a page of this console: its ``Origin`` (or, without one, its ``Referer``) is
        this server's own scheme (:meth:`scheme`), host and port; a request with neither is a program's, not another
        site's."""
        claimed = request.headers.get("origin") or request.headers.get("referer")
        if claimed is None:
            return True
        parts = urlsplit(claimed)
        return (parts.scheme, parts.netloc) == (self.scheme(request), request.url.netloc)

    # -- pages ---------------------------------------------------------------------------------------------------

    def page(self, handler: Page, path: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return self.render(request, handler, path)

        return endpoint

    def render(self, request: Request, handler: Page, path: str) -> Response:
        store = self.holder.current()
        views = store.projector
        if not isinstance(views, ServingProjector):  # a store not opened for serving: every read catches up
            return self._render(request, store, handler, path)
        views.begin_request()
        try:
            return self._render(request, store, handler, path)
        finally:
            views.end_request()

    def _render(self, request: Request, store: IdentityStore, handler: Page, path: str) -> Response:
        session = self.session_of(request, store)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(href("signin", {"next": target}), status_code=303, headers=SECURITY_HEADERS)
        query = dict(request.query_params)
        at = query.get("at", "").strip() or None
        context = AuditContext(
            actor=session.principal_arn,
            request_id=AuditContext.new_request_id(),
            access_key_id=session.access_key_id,
            source_ip=self.source_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        try:
            with bound_audit_context(context):
                if at is not None and is_relative(at):  # a relative moment becomes the exact time it named
                    moment = store.at(at)
                    return RedirectResponse(
                        href(path, {**query, "at": moment.time.isoformat()}), status_code=303, headers=SECURITY_HEADERS
                    )
                ctx = PageContext(store, session, path, query, at, store.at(_at(at)) if at else None, store.at(""))
                title, body = handler(ctx)
                return _html(frame(ctx, title, body))
        except BadRequest as error:
            return _html(error_page(400, "InvalidInput", error.message, session=session, path=path), 400)
        except AwsError as error:  # the store's errors and the policy language's (an action name that is none)
            status = int(error.http_status) if error.sender_fault else int(error.http_status or 500)
            return _html(error_page(status, str(error.code), str(error.message), session=session, path=path), status)
        except Exception:
            log.exception("console_page_failed", page=path, request_id=context.request_id)
            message = f"The page could not be shown because of an unknown error (request {context.request_id})."
            return _html(error_page(500, "InternalFailure", message, session=session, path=path), 500)

    # -- sign-in and sign-out ------------------------------------------------------------------------------------

    async def signin_get(self, request: Request) -> Response:
        store = self.holder.current()
        if self.session_of(request, store) is not None:
            return RedirectResponse(_next(request.query_params.get("next")), status_code=303, headers=SECURITY_HEADERS)
        return _html(signin_form(next_url=_next(request.query_params.get("next"))))

    async def signin_post(self, request: Request) -> Response:
        if not self.same_origin(request):
            return _html(
                error_page(403, "InvalidOrigin", "Sign-in is only accepted from this console's own page."),
                403,
            )
        form = await _form(request)
        if form is None:
            return _html(error_page(400, "InvalidInput", "The sign-in form is too large."), 400)
        store = self.holder.current()
        next_url = _next(form.get("next"))
        method = form.get("method", "password")
        key_id = form.get("access_key_id", "") if method == "access-key" else None
        context = anonymous_context(self.source_ip(request), request.headers.get("user-agent"), key_id or None)
        try:
            outcome = self._check_sign_in(store, context, method, form)
        except SignInError as error:
            return _html(signin_form(next_url=next_url, error=error.message, method=method, form=form), error.status)
        except IdentityStoreError as error:  # an account id that is no account, and the like
            return _html(signin_form(next_url=next_url, error=str(error.message), method=method, form=form), 400)
        if isinstance(outcome, MfaPending):
            return self._to_mfa_step(request, store, outcome, next_url)
        return self._signed_in(request, store, outcome, next_url)

    def _check_sign_in(
        self, store: IdentityStore, context: AuditContext, method: str, form: dict[str, str]
    ) -> ConsoleSession | MfaPending:
        if method == "access-key":
            return sign_in_with_access_key(
                store,
                context,
                form.get("access_key_id", ""),
                form.get("secret_access_key", ""),
                form.get("session_token", ""),
            )
        if method != "password":
            raise SignInError("Choose how to sign in: password or access key.", 400)
        outcome = sign_in_with_password(
            store,
            context,
            form.get("account_id", "").strip(),
            form.get("user_name", "").strip(),
            form.get("password", ""),
        )
        code = form.get("mfa_code", "").strip()
        if isinstance(outcome, MfaPending) and code:
            return complete_mfa(store, context, outcome, code, self.used_codes)
        return outcome

    def _to_mfa_step(self, request: Request, store: IdentityStore, pending: MfaPending, next_url: str) -> Response:
        expires = min(store.clock() + MFA_STEP_LIFETIME, pending.expires)
        fields = {
            "a": pending.principal_arn,
            "c": pending.account_id,
            "u": pending.user_name,
            "e": int(pending.expires.timestamp()),
        }
        value = self.codec(store).sign(MFA_PURPOSE, fields, expires)
        response = RedirectResponse(href("mfa", {"next": next_url}), status_code=303, headers=SECURITY_HEADERS)
        self.set_cookie(response, request, MFA_COOKIE_NAME, value, expires)
        return response

    def _signed_in(self, request: Request, store: IdentityStore, session: ConsoleSession, next_url: str) -> Response:
        log.info("console_signed_in", principal=session.principal_arn, method=session.method)
        response = RedirectResponse(next_url, status_code=303, headers=SECURITY_HEADERS)
        self.set_cookie(response, request, COOKIE_NAME, self.codec(store).session_cookie(session), session.expires)
        response.delete_cookie(MFA_COOKIE_NAME, path=COOKIE_PATH)
        return response

    def _pending(self, request: Request, store: IdentityStore) -> MfaPending | None:
        payload = self.codec(store).open(MFA_PURPOSE, request.cookies.get(MFA_COOKIE_NAME), store.clock())
        if payload is None:
            return None
        return MfaPending(
            str(payload["a"]), str(payload["c"]), str(payload["u"]), datetime.fromtimestamp(int(payload["e"]), UTC)
        )

    async def mfa_get(self, request: Request) -> Response:
        store = self.holder.current()
        if self._pending(request, store) is None:
            return RedirectResponse(href("signin"), status_code=303, headers=SECURITY_HEADERS)
        return _html(mfa_form(next_url=_next(request.query_params.get("next"))))

    async def mfa_post(self, request: Request) -> Response:
        if not self.same_origin(request):
            return _html(
                error_page(403, "InvalidOrigin", "Sign-in is only accepted from this console's own page."),
                403,
            )
        store = self.holder.current()
        pending = self._pending(request, store)
        form = await _form(request) or {}
        next_url = _next(form.get("next"))
        if pending is None:
            return RedirectResponse(href("signin", {"next": next_url}), status_code=303, headers=SECURITY_HEADERS)
        context = anonymous_context(self.source_ip(request), request.headers.get("user-agent"))
        try:
            session = complete_mfa(store, context, pending, form.get("mfa_code", ""), self.used_codes)
        except SignInError as error:
            return _html(mfa_form(next_url=next_url, error=error.message), error.status)
        return self._signed_in(request, store, session, next_url)

    async def signout(self, request: Request) -> Response:
        if not self.same_origin(request):
            return _html(
                error_page(403, "InvalidOrigin", "Sign-out is only accepted from this console's own page."),
                403,
            )
        response = RedirectResponse(href("signin", {"signed_out": "1"}), status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
        response.delete_cookie(MFA_COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
        return response

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSET_TYPES:
            return _html(error_page(404, "NotFound", "No such file."), 404)
        return Response(
            SLIDER_JS if name == SLIDER_NAME else asset(name),
            media_type=ASSET_TYPES[name],
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status_code", HTTPStatus.NOT_FOUND))
        code = "MethodNotAllowed" if status == HTTPStatus.METHOD_NOT_ALLOWED else "NotFound"
        return _html(error_page(status, code, f"Nothing here: {request.url.path}"), status)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """An unexpected failure outside a page (sign-in, sign-out): logged without the request's form, a plain
        500 page."""
        log.error("console_request_failed", path=request.url.path, error=type(exc).__name__)
        message = "The request could not be handled because of an unknown error."
        return _html(error_page(500, "InternalFailure", message), 500)

    def app(self) -> Starlette:
        pages_by_path: dict[str, Page] = {
            "": pages.home,
            "timeline": pages.timeline,
            "access": analysis.access,
            "who-can": analysis.who_can,
            "escalation": analysis.escalation,
            "diff": analysis.diff,
            "events": analysis.events,
            "verify": lambda ctx: pages.verify(ctx, self.verified),
            **{f"list/{kind}": pages.entity_list(kind) for kind in pages.LIST_TITLES},
        }
        routes = [
            Route("/signin", self.signin_get, methods=["GET"]),
            Route("/signin", self.signin_post, methods=["POST"]),
            Route("/mfa", self.mfa_get, methods=["GET"]),
            Route("/mfa", self.mfa_post, methods=["POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Route("/static/{name}", self.static, methods=["GET"]),
            *(Route(f"/{path}", self.page(handler, path), methods=["GET"]) for path, handler in pages_by_path.items()),
        ]
        handlers = {404: self.not_found, 405: self.not_found, Exception: self.failed}
        return Starlette(routes=routes, exception_handlers=handlers)


def _at(value: str) -> str | int:
    text = value.strip()
    return int(text) if text.isdigit() else text


def _next(value: str | None) -> str:
    """Where to go after signing in: a console page of this server only (never another site)."""
    if value and value.startswith("/console/") and not value.startswith("/console//") and "\\" not in value:
        return value
    return "/console/"


async def _form(request: Request) -> dict[str, str] | None:
    """The form's fields (text only), or ``None`` when the body is too large."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)
