"""API tokens: random secrets shown once, stored only as SHA-256 hashes, each with a role."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update

from safemap.layers.catalogue import ROLES
from safemap.layers.errors import FeatureNotFound, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

TOKEN_PREFIX = "sm_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: FeatureStore, name: str, role: str, *, expires_days: int | None = None) -> str:
    """Create a token for ``name`` with ``role``; return the secret (never stored in clear)."""
    if role not in ROLES:
        raise ValidationFailed(f"role: 未知角色 {role!r}，可选：{', '.join(ROLES)}")
    if not name.strip():
        raise ValidationFailed("name: 令牌需要使用人姓名")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=expires_days) if expires_days else None
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
    """All tokens (without secrets), oldest first."""
    with store.transaction(readonly=True) as tx:
        t = tx.tokens_table
        cols = [t.c.id, t.c.name, t.c.role, t.c.created_at, t.c.expires_at, t.c.revoked_at]
        return [dict(r) for r in tx.execute(select(*cols).order_by(t.c.id)).mappings()]


def revoke_token(store: FeatureStore, token_id: int) -> None:
    """Revoke a token by its id; it stops working immediately."""
    with store.transaction() as tx:
        t = tx.tokens_table
        done = tx.execute(
            update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=dt.datetime.now(dt.UTC))
        )
    if done.rowcount != 1:
        raise FeatureNotFound(f"没有编号为 {token_id} 的有效令牌")
