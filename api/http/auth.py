"""Bearer-token authentication and role checks for writes.

The ``require_*`` functions take the request. A handler whose parameters FastAPI checks
(body model, typed query) calls them first thing in its body, so a request that is both
malformed and unauthenticated is still answered 400/422 (FastAPI runs dependencies before
it checks parameters). Where nothing else is checked, :func:`require_actor` serves as a
dependency as it stands: ``actor: Actor = Depends(require_actor)``.
"""

from __future__ import annotations

from fastapi import Request

from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.sessions import check_csrf, request_session
from safemap.layers import counties, row_access
from safemap.layers.catalogue import Layer
from safemap.layers.labels import role_label, roles_text
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import authenticate

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="safemap"'}


def current_actor(request: Request) -> Actor | None:
    """The actor behind the request's bearer token or sign-in session; ``None`` when it carries neither.

    A token that is present but unknown, revoked or expired is an error (401), not
    an anonymous request. A write authenticated by the session cookie must carry the
    session's CSRF token (:func:`~safemap.api.http.sessions.check_csrf`, 403).
    """
    header = request.headers.get("authorization")
    if not header:
        session = request_session(request)
        if session is None:
            return None
        check_csrf(request, session)
        return session.actor
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthorized", "Authorization 请求头应为 'Bearer <令牌>'", headers=_CHALLENGE)
    store: FeatureStore = get_store(request)
    actor = authenticate(store, secret.strip())
    if actor is None:
        raise ApiError(401, "unauthorized", "令牌无效、已吊销或已过期", headers=_CHALLENGE)
    return actor


def require_actor(request: Request) -> Actor:
    """The authenticated actor; 401 when the request carries no token."""
    actor = current_actor(request)
    if actor is None:
        raise ApiError(
            401,
            "unauthorized",
            "此操作需要登录：请在 /login 登录；脚本和设备请在请求头加 'Authorization: Bearer <令牌>'"
            "（令牌由管理员用 safemap token create 生成）",
            headers=_CHALLENGE,
        )
    return actor


def require_editor(request: Request, layer: Layer) -> Actor:
    """The actor, if their role may edit ``layer``; 401 without a token, 403 otherwise."""
    actor = require_actor(request)
    if actor.role not in layer.editors:
        allowed = roles_text(layer.editors)  # words only: people never read role codes
        raise ApiError(
            403,
            "forbidden",
            f"当前角色“{role_label(actor.role)}”无权修改{layer.label}图层；可修改的角色：{allowed}",
        )
    return actor


def require_role(request: Request, *roles: str) -> Actor:
    """The actor, if their role is one of ``roles``."""
    actor = require_actor(request)
    if actor.role not in roles:
        raise ApiError(403, "forbidden", f"此操作需要以下角色之一：{roles_text(roles)}")
    return actor


def county_scope(request: Request) -> tuple[str, ...] | None:
    """The counties whose rows the request may read: the deployment's and the person's (``None``: all).

    ``SAFEMAP_COUNTIES`` limits a deployment (a prefecture's server shows its counties), an
    account's own list (``safemap user counties``) limits the person further; tokens of scripts
    and devices see the deployment's counties.
    """
    actor = current_actor(request)
    return counties.visible(get_settings(request).county_set, actor.counties if actor is not None else None)


def read_scope(request: Request, layer: Layer) -> int | None:
    """Who may read ``layer``: the enterprise id to limit the rows to, or ``None`` for all rows.

    Double-prevention records (:data:`~safemap.layers.row_access.PRIVATE_LAYERS`) need a
    sign-in (401); a device token may not read them (403). An enterprise user reads only its
    own enterprise's rows, and layers no enterprise owns only when they are base map layers or
    standards (403 otherwise).
    """
    actor = current_actor(request)
    if layer.name in row_access.PRIVATE_LAYERS:
        if actor is None:
            raise ApiError(
                401, "unauthorized", f"{layer.label}仅对登录用户开放，请先登录（/login）", headers=_CHALLENGE
            )
        if actor.role == "device":
            raise ApiError(403, "forbidden", f"设备令牌无权读取{layer.label}")
    if not row_access.is_enterprise(actor):
        return None
    assert actor is not None
    if not row_access.enterprise_may_read(layer):
        raise ApiError(403, "forbidden", f"企业用户无权查看{layer.label}")
    if row_access.owner_field(layer) is None:
        return None
    return actor.enterprise_id if actor.enterprise_id is not None else -1
