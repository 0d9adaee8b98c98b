"""API tokens: random secrets shown once, stored only as SHA-256 hashes, each with a role."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from safemap.layers.catalogue import ROLES
from safemap.layers.errors import FeatureNotFound, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

TOKEN_PREFIX = "sm_"
#: Longest validity a token may be given in days (a device that must never lapse uses no expiry at all).
MAX_EXPIRES_DAYS = 3650
#: A token's status (``list_tokens``' ``status``) -> its Chinese label.
TOKEN_STATUS_LABELS = {"active": "有效", "expired": "已过期", "revoked": "已吊销"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: FeatureStore, name: str, role: str, *, expires_days: int | None = None) -> str:
    """Create a token for ``name`` with ``role``; return the secret (never stored in clear).

    ``expires_days`` is 1 to :data:`MAX_EXPIRES_DAYS`; ``None`` makes a token that never
    expires (device tokens; it stops working only when revoked).
    """
    if expires_days is not None and (isinstance(expires_days, bool) or not 1 <= expires_days <= MAX_EXPIRES_DAYS):
        raise ValidationFailed(f"expires_days: {expiry_message(expires_days)}")
    if role not in ROLES:
        raise ValidationFailed(f"role: 未知角色 {role!r}，可选：{', '.join(ROLES)}")
    if role == "enterprise":
        # An enterprise's rows are tied to a person's account (safemap_users.enterprise_id), not to a token.
        raise ValidationFailed("role: 企业用户只能以账号登录（safemap user add --role enterprise --enterprise 编号）")
    if not name.strip():
        raise ValidationFailed("name: 令牌需要使用人姓名")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=expires_days) if expires_days is not None else None
    with store.transaction() as tx:
        tx.execute(
            insert(tx.tokens_table).values(
                name=name.strip(),
                role=role,
                token_hash=_hash(secret),
                created_at=now,
                expires_at=expires,
            )
        )
    return secret


def expiry_message(expires_days: object) -> str:
    """Why ``expires_days`` is refused, in Chinese."""
    return f"有效期应为 1 至 {MAX_EXPIRES_DAYS} 天（收到 {expires_days!r}）；永不过期的设备令牌须明确指定"


def token_status(row: Mapping[str, Any], now: dt.datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked`` (see :data:`TOKEN_STATUS_LABELS`) of a token row."""
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] < (now or dt.datetime.now(dt.UTC)):
        return "expired"
    return "active"


def authenticate(store: FeatureStore, secret: str) -> Actor | None:
    """The actor a token stands for, or ``None`` if unknown, revoked or expired."""
    with store.transaction(readonly=True) as tx:
        t = tx.tokens_table
        row = tx.execute(
            select(t.c.name, t.c.role, t.c.expires_at, t.c.revoked_at).where(t.c.token_hash == _hash(secret))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at < dt.datetime.now(dt.UTC):
        return None
    return Actor(row.name, row.role)


def list_tokens(store: FeatureStore) -> list[dict[str, Any]]:
    """All tokens (without secrets), oldest first, each with its ``status`` (:func:`token_status`)."""
    with store.transaction(readonly=True) as tx:
        t = tx.tokens_table
        cols = [t.c.id, t.c.name, t.c.role, t.c.created_at, t.c.expires_at, t.c.revoked_at]
        rows = [dict(r) for r in tx.execute(select(*cols).order_by(t.c.id)).mappings()]
    now = dt.datetime.now(dt.UTC)
    return [{**row, "status": token_status(row, now)} for row in rows]


def revoke_token(store: FeatureStore, token_id: int) -> None:
    """Revoke a token by its id; it stops working immediately."""
    with store.transaction() as tx:
        t = tx.tokens_table
        done = tx.execute(
            update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=dt.datetime.now(dt.UTC))
        )
    if done.rowcount != 1:
        raise FeatureNotFound(f"没有编号为 {token_id} 的有效令牌")
