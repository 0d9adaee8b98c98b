"""Sign-in for people: the ``/login`` and ``/admin/users`` pages, the session API and user management.

* ``POST /api/session`` signs in (sets the session cookies), ``GET`` says who is signed in,
  ``DELETE`` signs out. Refusals are 401 without saying which part was wrong; too many
  failures are 429 with ``Retry-After``.
* ``POST /api/me/password``: a signed-in person changes their own password (page
  ``/account/password``); their other sessions end, this one stays.
* ``/api/users…``: the admin adds accounts, resets passwords and disables (revokes) accounts.

The rules are in :mod:`safemap.api.services.accounts`; this module only speaks HTTP.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from starlette.responses import HTMLResponse, JSONResponse, Response

from safemap.api.http.auth import require_actor, require_role
from safemap.api.http.deps import get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.base import RequestModel, Text
from safemap.api.http.openapi import error_responses
from safemap.api.http.sessions import (
    SESSION_COOKIE,
    check_csrf,
    clear_session_cookies,
    client_ip,
    request_session,
    set_session_cookies,
)
from safemap.api.services import accounts
from safemap.layers.errors import Problem
from safemap.layers.store import FeatureStore
from safemap.webmap.assets import STATIC_DIR

router = APIRouter(tags=["账户与登录"])

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_TOO_MANY = {429: {"description": "登录失败次数过多（Retry-After 秒后再试）", **_ERROR}}
UserName = Annotated[str, Path(min_length=1, max_length=100)]
PAGES = STATIC_DIR / "account"


class SignInBody(RequestModel):
    """Name and password."""

    name: Text = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


class NewUserBody(RequestModel):
    """An account: name (for signing in), display name, role and first password."""

    name: Text = Field(min_length=1, max_length=100)
    display_name: Text = Field("", max_length=100)
    role: str = Field(max_length=20)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)
    enterprise_id: int | None = Field(None, ge=1, le=2_147_483_647, description="企业用户的所属企业编号")


class CountiesBody(RequestModel):
    """The counties an account sees (行政区划代码, comma separated); empty for every county."""

    counties: Text = Field("", max_length=2000, description="如 654225,654221；留空为全部区县")


class OwnPasswordBody(RequestModel):
    """The current password and the new one (8 to 256 characters, not the current one)."""

    current_password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)
    new_password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


class PasswordBody(RequestModel):
    """A new password."""

    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


def _page(name: str, root: str) -> HTMLResponse:
    html = (PAGES / name).read_text(encoding="utf-8").replace("{{root}}", root)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/login", include_in_schema=False)
async def login_page() -> HTMLResponse:
    """The sign-in page."""
    return _page("login.html", "./")


@router.get("/account/password", include_in_schema=False)
async def own_password_page() -> HTMLResponse:
    """The page where a signed-in person changes their own password."""
    return _page("password.html", "../")


@router.get("/admin/users", include_in_schema=False)
async def users_page() -> HTMLResponse:
    """The admin's page of accounts (its data come from ``/api/users``, admin only)."""
    return _page("users.html", "../")


# ---------------------------------------------------------------------- session
@router.post("/api/session", summary="登录（用户名、密码），成功后设置会话 Cookie", responses=_TOO_MANY)
async def sign_in(request: Request, body: SignInBody, store: FeatureStore = Depends(get_store)) -> Any:
    """Open a session: sets ``safemap_session`` (HttpOnly) and ``safemap_csrf``; answers who signed in."""
    try:
        done = await run_in_threadpool(accounts.sign_in, store, body.name, body.password, client_ip(request))
    except accounts.TooManyAttempts as exc:
        raise ApiError(429, "too_many_attempts", exc.message, headers={"Retry-After": str(exc.retry_after)}) from exc
    except accounts.SignInRefused as exc:
        raise ApiError(401, "unauthorized", exc.message) from exc
    response = JSONResponse({"user": accounts.describe(done.session), "csrf_token": done.csrf_token})
    set_session_cookies(request, response, done.secret, done.csrf_token)
    return response


@router.get("/api/session", summary="当前登录的用户（姓名、角色）与 CSRF 令牌；未登录时均为 null")
async def who(request: Request) -> Any:
    """Who is signed in with this browser's session cookie; ``user`` is null when nobody is.

    Not an error (401), so the map page asks on every load without a failed request in the console.
    """
    session = await run_in_threadpool(request_session, request)
    if session is None:
        return {"user": None, "csrf_token": None}
    response = JSONResponse({"user": accounts.describe(session), "csrf_token": session.csrf_token})
    # The server slides the expiry; the cookies' Max-Age follows (the map page asks on every load).
    set_session_cookies(request, response, request.cookies.get(SESSION_COOKIE, ""), session.csrf_token)
    return response


@router.delete("/api/session", status_code=204, summary="退出登录（结束会话）")
async def sign_out(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """End this browser's session and clear its cookies (204 also when it had already ended)."""
    if await run_in_threadpool(request_session, request) is not None:
        require_actor(request)  # a cookie-authenticated write: the CSRF header must match
        await run_in_threadpool(accounts.sign_out, store, request.cookies.get(SESSION_COOKIE, ""), client_ip(request))
    response = Response(status_code=204)
    clear_session_cookies(request, response)
    return response


# ---------------------------------------------------------------------- one's own password
@router.post(
    "/api/me/password",
    summary="修改本人密码（需登录；本会话保留，其他会话结束）",
    responses={
        **error_responses(401, 403),
        429: {"description": "当前密码输错次数过多（Retry-After 秒后再试）", **_ERROR},
    },
)
async def change_own_password(
    request: Request, body: OwnPasswordBody, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Replace the signed-in person's password (with the browser session cookie and ``X-CSRF-Token``).

    401 when not signed in; 403 for a token, a missing CSRF header or a wrong current password;
    422 when the new password is too short or long or equals the current one; 429 (``Retry-After``)
    after too many wrong passwords for this name from this address.
    """
    if request.headers.get("authorization"):
        raise ApiError(
            403,
            "forbidden",
            "令牌（脚本、设备）不能修改密码：请在 /login 登录后修改本人密码，或请系统管理员重设",
        )
    session = await run_in_threadpool(request_session, request)
    if session is None:
        raise ApiError(401, "unauthorized", "请先登录（/login）再修改密码")
    check_csrf(request, session)
    try:
        ended = await run_in_threadpool(
            accounts.change_own_password,
            store,
            session,
            body.current_password,
            body.new_password,
            client_ip(request),
        )
    except accounts.TooManyAttempts as exc:
        raise ApiError(429, "too_many_attempts", exc.message, headers={"Retry-After": str(exc.retry_after)}) from exc
    except accounts.WrongPassword as exc:
        raise ApiError(403, "wrong_password", exc.message, [Problem("current_password", exc.message)]) from exc
    except accounts.SignInRefused as exc:
        raise ApiError(401, "unauthorized", "请先登录（/login）再修改密码") from exc
    others = f"，其他 {ended} 处登录已退出" if ended else ""
    return {"message": f"密码已修改{others}", "sessions_ended": ended}


# ---------------------------------------------------------------------- accounts (admin)
@router.get("/api/users", summary="用户列表（系统管理员）", responses=error_responses(401, 403))
async def users(request: Request, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """Every account with role label, status and number of live sessions (no password hashes)."""
    require_role(request, "admin")
    rows = await run_in_threadpool(accounts.list_users, store)
    roles = [{"code": r, "label": accounts.ROLE_LABELS[r]} for r in accounts.USER_ROLES]
    return {"users": rows, "roles": roles}


@router.post("/api/users", status_code=201, summary="新增用户（系统管理员）")
async def add_user(request: Request, body: NewUserBody, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """Add an account; 422 if the name is taken, the role unknown or the password too short."""
    actor = require_role(request, "admin")
    user_id = await run_in_threadpool(
        partial(accounts.add_user, enterprise_id=body.enterprise_id),
        store,
        body.name,
        body.display_name,
        body.role,
        body.password,
        actor,
    )
    return {"id": user_id, "name": body.name.strip()}


@router.post("/api/users/{name}/password", status_code=204, summary="重设用户密码（系统管理员；其会话随之结束）")
async def reset_password(
    request: Request, name: UserName, body: PasswordBody, store: FeatureStore = Depends(get_store)
) -> Response:
    """Give the account a new password; its open sessions end."""
    actor = require_role(request, "admin")
    await run_in_threadpool(accounts.reset_password, store, name, body.password, actor)
    return Response(status_code=204)


@router.post("/api/users/{name}/disable", status_code=204, summary="停用（吊销）用户（系统管理员；其会话立即结束）")
async def disable_user(request: Request, name: UserName, store: FeatureStore = Depends(get_store)) -> Response:
    """Revoke the account: it can no longer sign in and its sessions end at once."""
    actor = require_role(request, "admin")
    if name == actor.name:
        raise ApiError(409, "conflict", "不能停用自己的账户")
    await run_in_threadpool(accounts.disable_user, store, name, actor)
    return Response(status_code=204)


@router.post("/api/users/{name}/enable", status_code=204, summary="重新启用用户（系统管理员）")
async def enable_user(request: Request, name: UserName, store: FeatureStore = Depends(get_store)) -> Response:
    """Let a disabled account sign in again."""
    actor = require_role(request, "admin")
    await run_in_threadpool(accounts.disable_user, store, name, actor, disabled=False)
    return Response(status_code=204)


@router.put(
    "/api/users/{name}/counties",
    summary="设置用户可见区县（系统管理员；行级权限，下一次请求起生效）",
    responses=error_responses(401, 403, 404, 422),
)
async def set_counties(
    request: Request, name: UserName, body: CountiesBody, store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """Limit the account to the rows of some counties; an empty list lifts the limit."""
    actor = require_role(request, "admin")
    codes = await run_in_threadpool(accounts.set_counties, store, name, body.counties, actor)
    return {"name": name, "counties": list(codes or ()), "counties_label": accounts.counties_label(codes)}
