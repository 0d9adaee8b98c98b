"""Accounts for people: argon2 passwords, sign-in with a rate limit, sessions, and the admin's changes.

People sign in with a name and a password and get a server-side session (stored in the
store, so a restart keeps it and sign-out or disabling the account ends it at once);
scripts and devices keep using API tokens (:mod:`safemap.layers.tokens`). The rules live
here; :mod:`safemap.layers.users` only stores rows, and the HTTP room only sets cookies.

* Passwords are hashed with argon2id (``argon2-cffi``, its current default parameters); a
  hash made with older parameters is replaced at the next successful sign-in.
* A refused sign-in never says whether the name or the password was wrong.
* :data:`MAX_FAILURES` failures for one name from one address within :data:`FAILURE_WINDOW`
  block further tries from there (:class:`TooManyAttempts`, with the seconds to wait) until
  the oldest of them is older than the window. Every failure, block and sign-in is audited.
* A person changes their own password by giving the current one (:func:`change_own_password`):
  a wrong one counts against the same limit as a failed sign-in, the new one follows the same
  rules as an admin's reset, and every other session of theirs ends (the one they used stays).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from safemap.layers import users
from safemap.layers.catalogue import ROLE_LABELS, ROLES
from safemap.layers.counties import CountyCodeInvalid, county_name, parse_codes
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.users import SessionInfo

#: Roles a person may have (``device`` is for tokens only).
USER_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != "device")
#: A session lasts this long after its last use (sliding).
SESSION_TTL = dt.timedelta(hours=12)
#: Failed sign-ins per name and address within :data:`FAILURE_WINDOW` before further tries are refused.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_PASSWORD = 256
#: What every refused sign-in says (never which part was wrong).
REFUSED = "用户名或密码不正确，或账户已停用"
#: What a wrong current password says when changing one's own.
WRONG_CURRENT = "当前密码不正确"

_hasher = PasswordHasher()
# Verified when the name is unknown, so an unknown name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("safemap-no-such-user")


class SignInRefused(Exception):
    """Wrong name or password, or a disabled account (the message does not say which)."""

    def __init__(self) -> None:
        super().__init__(REFUSED)
        self.message = REFUSED


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this name from this address: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, what: str = "登录失败") -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        self.message = f"{what}次数过多，请 {minutes} 分钟后再试"
        super().__init__(self.message)
        self.retry_after = retry_after


class WrongPassword(Exception):
    """The current password given to change one's own is wrong."""

    def __init__(self) -> None:
        super().__init__(WRONG_CURRENT)
        self.message = WRONG_CURRENT


@dataclass(frozen=True)
class SignedIn:
    """A new session: its secret (the cookie) and CSRF token, and who signed in."""

    secret: str
    csrf_token: str
    session: SessionInfo


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked against the password rules first)."""
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    """:class:`ValidationFailed` unless ``password`` is 8 to 256 characters."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed(f"password: 密码应为 {MIN_PASSWORD} 至 {MAX_PASSWORD} 个字符")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise ValidationFailed("name: 用户名应为 1 至 100 个字符，不含空格")
    return name


def describe(session: SessionInfo) -> dict[str, str]:
    """Who is signed in, for the page: name, display name, role code and its Chinese label."""
    return {
        "name": session.name,
        "display_name": session.display_name,
        "role": session.role,
        "role_label": ROLE_LABELS.get(session.role, session.role),
    }


# ---------------------------------------------------------------------- the admin's changes
def add_user(
    store: FeatureStore,
    name: str,
    display_name: str,
    role: str,
    password: str,
    by: Actor,
    *,
    enterprise_id: int | None = None,
) -> int:
    """Add an account with ``role`` (a person's role, not ``device``); returns its id.

    An enterprise user (``enterprise``) names the one enterprise whose records they keep.
    """
    name = _clean_name(name)
    display_name = (display_name or "").strip() or name
    if len(display_name) > 100:
        raise ValidationFailed("display_name: 姓名最多 100 个字符")
    if role not in USER_ROLES:
        labels = "、".join(f"{ROLE_LABELS[r]}（{r}）" for r in USER_ROLES)
        raise ValidationFailed(f"role: 未知或不可用于人员的角色 {role!r}，可选：{labels}")
    return users.add_user(store, name, display_name, role, hash_password(password), by, enterprise_id=enterprise_id)


def reset_password(store: FeatureStore, name: str, password: str, by: Actor) -> None:
    """Give an account a new password; its sessions end."""
    users.set_password(store, name, hash_password(password), by)


def disable_user(store: FeatureStore, name: str, by: Actor, *, disabled: bool = True) -> None:
    """Revoke an account (it can no longer sign in, its sessions end), or with ``disabled=False`` restore it."""
    users.set_disabled(store, name, disabled, by)


def set_counties(store: FeatureStore, name: str, codes: str | None, by: Actor) -> tuple[str, ...] | None:
    """Limit an account to some counties' rows (行政区划代码, comma/、/space separated; empty: all).

    Raises :class:`ValidationFailed` naming 可见区县 for a code that is not six digits.
    """
    try:
        parsed = parse_codes(codes)
    except CountyCodeInvalid as exc:
        raise ValidationFailed(f"counties: 可见区县：{exc}") from None
    users.set_counties(store, name, parsed, by)
    return parsed


def counties_label(codes: str | Sequence[str] | None) -> str:
    """可见区县 as people read it (stored text or parsed codes): names with codes, or 全部区县."""
    parsed = parse_codes(codes)
    return "全部区县" if parsed is None else "、".join(f"{county_name(c)}（{c}）" for c in parsed)


def list_users(store: FeatureStore) -> list[dict[str, object]]:
    """Every account with its role label and status (有效 / 已停用), no password hashes."""
    out: list[dict[str, object]] = []
    for row in users.list_users(store):
        out.append(
            {
                **row,
                "role_label": ROLE_LABELS.get(row["role"], row["role"]),
                "status": "disabled" if row["disabled_at"] is not None else "active",
                "status_label": "已停用" if row["disabled_at"] is not None else "有效",
                "counties_label": counties_label(row.get("counties")),
                "created_label": _local(store, row["created_at"]),
                "disabled_label": _local(store, row["disabled_at"]),
            }
        )
    return out


def _local(store: FeatureStore, when: dt.datetime | None) -> str:
    """A time in the deployment's time zone (``SAFEMAP_TIMEZONE``), to the minute; ``""`` for none."""
    return when.astimezone(store.tz).strftime("%Y-%m-%d %H:%M") if when is not None else ""


# ---------------------------------------------------------------------- signing in and out
def sign_in(store: FeatureStore, name: str, password: str, ip: str) -> SignedIn:
    """Check the password and open a session; :class:`SignInRefused` or :class:`TooManyAttempts`."""
    name = (name or "").strip()[:100]
    wait = _blocked_for(store, name, ip)
    if wait is not None:
        user = users.find_user(store, name) if name else None
        users.record_failure(store, name or "-", user["role"] if user else None, ip, "login_blocked")
        raise TooManyAttempts(wait)
    user = users.find_user(store, name) if name else None
    ok = _verify(user["password_hash"] if user else _DUMMY_HASH, password)
    if user is None or not ok or user["disabled_at"] is not None:
        users.record_failure(store, name or "-", user["role"] if user else None, ip)
        raise SignInRefused()
    if _hasher.check_needs_rehash(user["password_hash"]):
        users.set_password(store, name, _hasher.hash(password), Actor(name, user["role"]), quiet=True)
    secret, csrf = users.open_session(store, user, ip, SESSION_TTL)
    session = users.session_for(store, secret, SESSION_TTL)
    assert session is not None  # just opened
    return SignedIn(secret, csrf, session)


def _blocked_for(store: FeatureStore, name: str, ip: str) -> int | None:
    """Seconds until ``name`` may try a password again from ``ip``; ``None`` if not blocked."""
    failures = users.recent_failures(store, name, ip, FAILURE_WINDOW)
    if len(failures) < MAX_FAILURES:
        return None
    wait = failures[-MAX_FAILURES] + FAILURE_WINDOW - dt.datetime.now(dt.UTC)
    return max(1, math.ceil(wait.total_seconds()))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password or ""))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def current_session(store: FeatureStore, secret: str) -> SessionInfo | None:
    """The live session of a cookie's secret (expiry slid forward), or ``None``."""
    if not secret or len(secret) > 200:
        return None
    return users.session_for(store, secret, SESSION_TTL)


def sign_out(store: FeatureStore, secret: str, ip: str) -> bool:
    """End the session of ``secret``; ``False`` if it was not live."""
    if not secret or len(secret) > 200:
        return False
    return users.close_session(store, secret, ip)


# ---------------------------------------------------------------------- one's own password
def change_own_password(
    store: FeatureStore, session: SessionInfo, current_password: str, new_password: str, ip: str
) -> int:
    """The signed-in person of ``session`` replaces their password; returns how many other sessions ended.

    The current password is checked under the sign-in rate limit (failures audited as
    ``passwd_failed``, a blocked try as ``passwd_blocked``; :class:`TooManyAttempts`,
    :class:`WrongPassword`). The new one must follow :func:`check_password` and differ from the
    current one (:class:`ValidationFailed` naming ``new_password``). On success the hash is
    replaced, every other session of the account ends (``session`` stays open) and the change is
    audited as ``user_passwd_self``.
    """
    name = session.name
    wait = _blocked_for(store, name, ip)
    if wait is not None:
        users.record_failure(store, name, session.role, ip, "passwd_blocked")
        raise TooManyAttempts(wait, "当前密码输错")
    if not isinstance(current_password, str) or not current_password:
        raise ValidationFailed("当前密码：请输入当前密码", [Problem("current_password", "请输入当前密码")])
    try:
        check_password(new_password)
    except ValidationFailed as exc:
        why = f"应为 {MIN_PASSWORD} 至 {MAX_PASSWORD} 个字符"
        raise ValidationFailed(f"新密码：{why}", [Problem("new_password", why)]) from exc
    if new_password == current_password:
        why = "不能与当前密码相同"
        raise ValidationFailed(f"新密码：{why}", [Problem("new_password", why)])
    user = users.find_user(store, name)
    if user is None or user["disabled_at"] is not None:
        raise SignInRefused()  # the account went away since the session was looked up
    if not _verify(user["password_hash"], current_password):
        users.record_failure(store, name, user["role"], ip, "passwd_failed")
        raise WrongPassword()
    return users.set_password(
        store,
        name,
        _hasher.hash(new_password),
        Actor(name, user["role"]),
        keep_session=session.session_id,
        action="user_passwd_self",
        note=f"来源 {ip}",  # as a sign-in's: a success that resets the failure count from there
    )
