"""People who sign in and their sessions: rows of ``safemap_users`` and ``safemap_sessions``.

Only storage lives here. Passwords arrive already hashed (the rules, argon2 and the rate
limit are in :mod:`safemap.api.services.accounts`); a session's secret is stored only as its
SHA-256 hash, so a copy of the database cannot be used to sign in. Sign-ins, failures and
account changes are written to the audit log (``layer`` = ``safemap_users``) in the same
transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from safemap.layers.counties import county_name, parse_codes
from safemap.layers.errors import FeatureNotFound, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tables import USERS_TABLE

#: The audit log's ``layer`` of every account event.
AUDIT_LAYER = USERS_TABLE
#: The audit ``role`` of a sign-in attempt under a name nobody has.
UNKNOWN_ROLE = "unknown"
#: A session's expiry moves forward at most this often (one write per active user per interval).
SLIDE_EVERY = dt.timedelta(minutes=5)
#: Audit actions of a wrong password (sign-in; the current password when changing one's own).
FAILURE_ACTIONS: tuple[str, ...] = ("login_failed", "passwd_failed")
#: Audit actions of a right password, after which earlier failures no longer count.
SUCCESS_ACTIONS: tuple[str, ...] = ("login", "user_passwd_self")


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who, their role, the CSRF token writes must echo, and when it ends."""

    session_id: int
    user_id: int
    name: str
    display_name: str
    role: str
    csrf_token: str
    expires_at: dt.datetime
    enterprise_id: int | None = None
    counties: tuple[str, ...] | None = None

    @property
    def actor(self) -> Actor:
        """The actor the session writes as (the audit log names the account)."""
        return Actor(self.name, self.role, self.enterprise_id, self.counties)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _audit(tx: Any, actor: Actor, action: str, user_id: int | None, note: str | None) -> None:
    tx.record_audit(actor, action, AUDIT_LAYER, [(user_id, None, None)], note)


# ---------------------------------------------------------------------- accounts
def add_user(
    store: FeatureStore,
    name: str,
    display_name: str,
    role: str,
    password_hash: str,
    by: Actor,
    *,
    enterprise_id: int | None = None,
) -> int:
    """Add an account; :class:`ValidationFailed` if the name is taken. Returns its id.

    An enterprise user (role ``enterprise``) needs ``enterprise_id``, an existing enterprise.
    """
    now = _now()
    with store.transaction() as tx:
        u = tx.users_table
        if tx.execute(select(u.c.id).where(u.c.name == name)).first() is not None:
            raise ValidationFailed(f"name: 用户名 {name} 已存在")
        if role == "enterprise":
            if enterprise_id is None:
                raise ValidationFailed("enterprise: 企业用户须指定所属企业（企业编号）")
            if tx.fetch("enterprises", enterprise_id) is None:
                raise ValidationFailed(f"enterprise: 没有编号为 {enterprise_id} 的企业")
        elif enterprise_id is not None:
            raise ValidationFailed("enterprise: 只有企业用户需要指定所属企业")
        result = tx.execute(
            insert(u).values(
                name=name,
                display_name=display_name,
                role=role,
                password_hash=password_hash,
                created_at=now,
                updated_at=now,
                enterprise_id=enterprise_id,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        user_id = int(key[0])
        _audit(tx, by, "user_add", user_id, f"新增用户 {name}（{display_name}），角色 {role}")
    return user_id


def find_user(store: FeatureStore, name: str) -> dict[str, Any] | None:
    """The account row of ``name`` (with its password hash), or ``None``."""
    with store.transaction(readonly=True) as tx:
        u = tx.users_table
        row = tx.execute(select(u).where(u.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def list_users(store: FeatureStore) -> list[dict[str, Any]]:
    """Every account (no password hashes), oldest first, with its number of live sessions."""
    now = _now()
    with store.transaction(readonly=True) as tx:
        u, s = tx.users_table, tx.sessions_table
        live = (
            select(s.c.user_id, func.count().label("n"))
            .where(s.c.revoked_at.is_(None), s.c.expires_at > now)
            .group_by(s.c.user_id)
            .subquery()
        )
        cols = [
            u.c.id,
            u.c.name,
            u.c.display_name,
            u.c.role,
            u.c.counties,
            u.c.created_at,
            u.c.updated_at,
            u.c.disabled_at,
        ]
        stmt = select(*cols, func.coalesce(live.c.n, 0).label("sessions")).outerjoin(live, live.c.user_id == u.c.id)
        return [dict(r) for r in tx.execute(stmt.order_by(u.c.id)).mappings()]


def set_password(
    store: FeatureStore,
    name: str,
    password_hash: str,
    by: Actor,
    *,
    quiet: bool = False,
    keep_session: int | None = None,
    action: str = "user_passwd",
    note: str | None = None,
) -> int:
    """Replace an account's password hash and end its sessions (a reset locks out whoever had it).

    ``quiet``: a silent rehash with stronger parameters at sign-in (no audit row, sessions kept).
    ``keep_session``: the id of a session left open (a person changing their own password keeps
    the one they did it in; every other session of theirs ends). ``action`` and ``note`` are
    what the audit log says. Returns how many sessions ended.
    """
    now = _now()
    ended = 0
    with store.transaction() as tx:
        u = tx.users_table
        row = tx.execute(select(u.c.id).where(u.c.name == name)).first()
        if row is None:
            raise FeatureNotFound(f"没有用户名为 {name} 的用户")
        tx.execute(update(u).where(u.c.id == row.id).values(password_hash=password_hash, updated_at=now))
        if not quiet:
            ended = _end_sessions(tx, row.id, now, keep=keep_session)
            _audit(tx, by, action, row.id, note or f"重设用户 {name} 的密码")
    return ended


def set_disabled(store: FeatureStore, name: str, disabled: bool, by: Actor) -> None:
    """Disable (revoke) an account and end its sessions at once, or enable it again."""
    now = _now()
    with store.transaction() as tx:
        u = tx.users_table
        row = tx.execute(select(u.c.id).where(u.c.name == name)).first()
        if row is None:
            raise FeatureNotFound(f"没有用户名为 {name} 的用户")
        tx.execute(update(u).where(u.c.id == row.id).values(disabled_at=now if disabled else None, updated_at=now))
        if disabled:
            _end_sessions(tx, row.id, now)
        _audit(
            tx,
            by,
            "user_disable" if disabled else "user_enable",
            row.id,
            f"{'停用' if disabled else '启用'}用户 {name}",
        )


def _end_sessions(tx: Any, user_id: int, now: dt.datetime, *, keep: int | None = None) -> int:
    """End the user's live sessions (all but the session ``keep``); how many ended."""
    s = tx.sessions_table
    where = [s.c.user_id == user_id, s.c.revoked_at.is_(None)]
    if keep is not None:
        where.append(s.c.id != keep)
    result = tx.execute(update(s).where(*where).values(revoked_at=now))
    return max(0, int(result.rowcount or 0))


# ---------------------------------------------------------------------- sessions
def open_session(store: FeatureStore, user: dict[str, Any], ip: str, ttl: dt.timedelta) -> tuple[str, str]:
    """Start a session for ``user`` (audited as a sign-in); returns its secret and CSRF token."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    with store.transaction() as tx:
        tx.execute(
            insert(tx.sessions_table).values(
                token_hash=_hash(secret),
                user_id=user["id"],
                csrf_token=csrf,
                created_at=now,
                expires_at=now + ttl,
                ip=ip[:64],
            )
        )
        _audit(tx, Actor(user["name"], user["role"]), "login", user["id"], f"来源 {ip}")
    return secret, csrf


def session_for(store: FeatureStore, secret: str, ttl: dt.timedelta) -> SessionInfo | None:
    """The live session of ``secret`` (its expiry slid forward), or ``None``.

    ``None`` when unknown, signed out, expired, or its account is disabled.
    """
    now = _now()
    with store.transaction(readonly=True) as tx:
        s, u = tx.sessions_table, tx.users_table
        row = tx.execute(
            select(
                s.c.id,
                s.c.user_id,
                s.c.csrf_token,
                s.c.expires_at,
                u.c.name,
                u.c.display_name,
                u.c.role,
                u.c.enterprise_id,
                u.c.counties,
            )
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.token_hash == _hash(secret), s.c.revoked_at.is_(None), u.c.disabled_at.is_(None))
        ).first()
    if row is None or row.expires_at <= now:
        return None
    expires = row.expires_at
    if now + ttl - expires >= SLIDE_EVERY:
        expires = now + ttl
        with store.transaction() as tx:
            s = tx.sessions_table
            tx.execute(update(s).where(s.c.id == row.id, s.c.revoked_at.is_(None)).values(expires_at=expires))
    return SessionInfo(
        row.id,
        row.user_id,
        row.name,
        row.display_name,
        row.role,
        row.csrf_token,
        expires,
        row.enterprise_id,
        parse_codes(row.counties),
    )


def set_counties(store: FeatureStore, name: str, counties: tuple[str, ...] | None, by: Actor) -> None:
    """Limit an account to the rows of ``counties`` (行政区划代码; ``None``: every county), audited.

    Takes effect on the account's next request: sessions read it on every request.
    """
    with store.transaction() as tx:
        u = tx.users_table
        row = tx.execute(select(u.c.id).where(u.c.name == name)).first()
        if row is None:
            raise FeatureNotFound(f"没有用户名为 {name} 的用户")
        text = None if not counties else ",".join(counties)
        tx.execute(update(u).where(u.c.id == row.id).values(counties=text, updated_at=_now()))
        shown = "全部区县" if not counties else "、".join(f"{county_name(c)}（{c}）" for c in counties)
        _audit(tx, by, "user_counties", row.id, f"用户 {name} 可见区县：{shown}")


def close_session(store: FeatureStore, secret: str, ip: str) -> bool:
    """Sign out: end the session of ``secret`` (audited). ``False`` if it was not live."""
    now = _now()
    with store.transaction() as tx:
        s, u = tx.sessions_table, tx.users_table
        row = tx.execute(
            select(s.c.id, s.c.user_id, u.c.name, u.c.role)
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.token_hash == _hash(secret), s.c.revoked_at.is_(None))
        ).first()
        if row is None:
            return False
        tx.execute(update(s).where(s.c.id == row.id).values(revoked_at=now))
        _audit(tx, Actor(row.name, row.role), "logout", row.user_id, f"来源 {ip}")
    return True


# ---------------------------------------------------------------------- failed sign-ins
def record_failure(store: FeatureStore, name: str, role: str | None, ip: str, action: str = "login_failed") -> None:
    """Audit a refused sign-in under the name that was tried (``role`` ``None``: nobody has it)."""
    with store.transaction() as tx:
        tx.record_audit(
            Actor(name[:100], role or UNKNOWN_ROLE), action, AUDIT_LAYER, [(None, None, None)], f"来源 {ip}"
        )


def recent_failures(store: FeatureStore, name: str, ip: str, window: dt.timedelta) -> list[dt.datetime]:
    """When password checks for ``name`` from ``ip`` failed within ``window``, since the last success there.

    Oldest first. Failed sign-ins and wrong current passwords (changing one's own password)
    count together, as do their successes (a sign-in, a change of one's own password): one
    budget of guesses per name and address, whichever door they knock at.
    """
    since = _now() - window
    note = f"来源 {ip}"
    with store.transaction(readonly=True) as tx:
        a = tx.audit_table
        mine = (a.c.layer == AUDIT_LAYER, a.c.actor == name[:100], a.c.note == note, a.c.at > since)
        last_ok = tx.execute(select(func.max(a.c.at)).where(*mine, a.c.action.in_(SUCCESS_ACTIONS))).scalar()
        stmt = select(a.c.at).where(*mine, a.c.action.in_(FAILURE_ACTIONS))
        if last_ok is not None:
            stmt = stmt.where(a.c.at > last_ok)
        return [r[0] for r in tx.execute(stmt.order_by(a.c.at))]
