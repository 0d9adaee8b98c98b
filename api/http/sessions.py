"""Session cookies of people who signed in on ``/login``, and the CSRF check of their writes.

Two cookies: ``safemap_session`` (the session's secret; HttpOnly, SameSite=Strict, Secure
over https) and ``safemap_csrf`` (the session's CSRF token, readable by the page's script).
A write (POST, PUT, PATCH, DELETE) authenticated by the session cookie must carry the
``X-CSRF-Token`` header equal to the session's token (double submit, on top of
SameSite=Strict); requests with ``Authorization: Bearer`` are not affected.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http.deps import get_store
from safemap.api.http.errors import ApiError
from safemap.api.services import accounts
from safemap.layers.users import SessionInfo

SESSION_COOKIE = "safemap_session"
CSRF_COOKIE = "safemap_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    """The caller's address (the rate limit counts per name and address)."""
    return request.client.host if request.client else "unknown"


def is_https(request: Request) -> bool:
    """The request came over https (directly or, as the proxy says, through it)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def request_session(request: Request) -> SessionInfo | None:
    """The live session of the request's cookie, or ``None`` (cached on the request)."""
    if hasattr(request.state, "safemap_session"):
        cached: SessionInfo | None = request.state.safemap_session
        return cached
    secret = request.cookies.get(SESSION_COOKIE, "")
    session = accounts.current_session(get_store(request), secret) if secret else None
    request.state.safemap_session = session
    return session


async def request_session_async(request: Request) -> SessionInfo | None:
    """:func:`request_session` off the event loop."""
    return await run_in_threadpool(request_session, request)


def check_csrf(request: Request, session: SessionInfo) -> None:
    """403 unless a write carries the session's CSRF token in ``X-CSRF-Token``."""
    if request.method.upper() in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise ApiError(
            403,
            "csrf",
            f"请求缺少有效的 {CSRF_HEADER} 请求头（防跨站请求伪造）；请刷新页面后重试",
        )


def set_session_cookies(request: Request, response: Response, secret: str, csrf_token: str) -> None:
    """Hand the browser the session (HttpOnly) and its CSRF token (readable by the page)."""
    secure = is_https(request)
    max_age = int(accounts.SESSION_TTL.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE, csrf_token, max_age=max_age, path="/", httponly=False, samesite="strict", secure=secure
    )


def clear_session_cookies(request: Request, response: Response) -> None:
    """Make the browser forget both cookies."""
    secure = is_https(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/", httponly=False, samesite="strict", secure=secure)
