"""``safemap user add|list|passwd|disable|enable``: accounts of people who sign in on ``/login``.

The first admin account is made here (the web page ``/admin/users`` needs one to sign in).
Passwords are asked for twice without echo, or read from ``--password-stdin`` (scripts).
"""

from __future__ import annotations

import sys

import click

from safemap.api.cli.common import cli_actor, configured_store
from safemap.api.services import accounts
from safemap.layers.catalogue import ROLE_LABELS


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return value


@click.group()
def user() -> None:
    """Accounts of people who sign in on the map page (scripts and devices use tokens)."""


@user.command("add")
@click.argument("name")
@click.option("--display-name", default="", help="Name shown on the map (default: the user name).")
@click.option(
    "--role",
    type=click.Choice(accounts.USER_ROLES),
    required=True,
    help="; ".join(f"{r}: {ROLE_LABELS[r]}" for r in accounts.USER_ROLES),
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--enterprise", "enterprise_id", type=int, help="Enterprise id of an enterprise user (role enterprise).")
def user_add(name: str, display_name: str, role: str, password_stdin: bool, enterprise_id: int | None) -> None:
    """Add an account (the password is asked for, never given on the command line)."""
    password = _password(password_stdin)
    with configured_store() as store:
        accounts.add_user(store, name, display_name, role, password, cli_actor(), enterprise_id=enterprise_id)
    click.echo(f"已新增用户 {name}（{display_name or name}，{ROLE_LABELS[role]}）")


@user.command("list")
def user_list() -> None:
    """List accounts with role and status."""
    with configured_store() as store:
        for u in accounts.list_users(store):
            click.echo(
                f"{u['id']:>4} {u['name']:<16} {u['display_name']:<12} {u['role_label']:<10} "
                f"{u['status_label']:<4} 在线会话 {u['sessions']}"
            )


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password (the account's open sessions end)."""
    password = _password(password_stdin)
    with configured_store() as store:
        accounts.reset_password(store, name, password, cli_actor())
    click.echo(f"已重设用户 {name} 的密码，其已登录的会话均已结束")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable (revoke) an account: it cannot sign in and its sessions end at once."""
    with configured_store() as store:
        accounts.disable_user(store, name, cli_actor())
    click.echo(f"已停用用户 {name}")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Let a disabled account sign in again."""
    with configured_store() as store:
        accounts.disable_user(store, name, cli_actor(), disabled=False)
    click.echo(f"已启用用户 {name}")


@user.command("counties")
@click.argument("name")
@click.argument("codes", required=False, default="")
def user_counties(name: str, codes: str) -> None:
    """Limit an account to some counties' rows (行政区划代码, e.g. 654225,654221); no CODES: every county."""
    with configured_store() as store:
        parsed = accounts.set_counties(store, name, codes, cli_actor())
    click.echo(f"用户 {name} 可见区县：{accounts.counties_label(parsed)}")


COMMANDS = (user,)
