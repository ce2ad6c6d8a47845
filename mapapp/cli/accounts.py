"""Command line: accounts and backups.

    flask --app mapapp create-user NAME --role viewer|editor|admin [--password-stdin] [--update]
    flask --app mapapp users
    flask --app mapapp backup FILE [--force]
    flask --app mapapp restore FILE [--yes]
"""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from mapapp.store import backup as backups
from mapapp.store import users
from mapapp.store.db import get_engine

EXIT_ERROR = 1


def _fail(message: str) -> None:
    click.echo(f"LỖI/ERROR: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(users.ROLES), required=True,
              help="viewer (xem), editor (nhập dữ liệu, hoàn tác), admin (quản lý tài khoản).")
@click.option("--password-stdin", is_flag=True,
              help="Đọc mật khẩu từ dòng đầu của stdin / read the password from stdin's first line (scripts).")
@click.option("--update", is_flag=True, help="Đổi mật khẩu và quyền của tài khoản đã có / change an existing account.")
@with_appcontext
def create_user_command(name: str, role: str, password_stdin: bool, update: bool) -> None:
    """Tạo tài khoản / create an account (the password is asked twice, hidden, and stored hashed)."""
    try:
        username = users.normalise_username(name)
    except users.AccountError as error:
        _fail(str(error))
        return
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mật khẩu / password", hide_input=True,
                                confirmation_prompt="Nhập lại / repeat the password")
    try:
        made = users.create_user(users.ensure_schema(get_engine()), username, password, role, update=update)
    except users.AccountError as error:
        _fail(str(error))
        return
    verb = "đã tạo / created" if made["created"] else "đã cập nhật / updated"
    click.echo(f"{verb}: {made['username']} ({made['role']})")


@click.command("users")
@with_appcontext
def users_command() -> None:
    """Danh sách tài khoản / list the accounts."""
    with users.ensure_schema(get_engine()).connect() as conn:
        rows = users.list_users(conn)
    if not rows:
        click.echo("chưa có tài khoản / no accounts yet: flask --app mapapp create-user NAME --role admin")
    for row in rows:
        state = "" if row["active"] else " (khóa / inactive)"
        click.echo(f"{row['username']}\t{row['role']}{state}\t{row['created_at']}\t{row['last_login_at'] or '-'}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--force", is_flag=True, help="Ghi đè tệp đã có / replace an existing FILE.")
@with_appcontext
def backup_command(file: str, force: bool) -> None:
    """Sao lưu nhất quán khi đang chạy / consistent online backup of the database to FILE."""
    try:
        info = backups.backup(current_app.config["DATABASE_URL"], file, overwrite=force)
    except backups.BackupError as error:
        _fail(str(error))
        return
    counts = ", ".join(f"{k}={v}" for k, v in info["counts"].items())
    click.echo(f"đã sao lưu / backed up: {info['path']} ({info['bytes']} bytes, schema {info['schema_version']}, "
               f"{counts})")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--yes", is_flag=True, help="Không hỏi lại / do not ask for confirmation.")
@with_appcontext
def restore_command(file: str, yes: bool) -> None:
    """Khôi phục từ bản sao lưu / restore the database from FILE (the current one is kept first)."""
    url = current_app.config["DATABASE_URL"]
    try:
        info = backups.inspect_file(file, url)
    except backups.BackupError as error:
        _fail(str(error))
        return
    counts = ", ".join(f"{k}={v}" for k, v in info["counts"].items())
    click.echo(f"tệp hợp lệ / valid: schema {info['schema_version']}, {counts}")
    if not yes and not click.confirm("Thay cơ sở dữ liệu hiện tại? / replace the current database?", default=False):
        _fail("đã hủy / cancelled")
        return
    keep_dir = current_app.config.get("BACKUP_DIR") or os.path.join(current_app.instance_path, "backups")
    try:
        result = backups.restore(url, file, keep_dir)
    except backups.BackupError as error:
        _fail(str(error))
        return
    if result["kept"]:
        click.echo(f"bản trước khi khôi phục / the previous database was kept: {result['kept']}")
    if result["migrated"]:
        click.echo(f"đã nâng cấp lược đồ / schema migrated to: {result['migrated'][-1]}")
    click.echo("đã khôi phục / restored. Hãy khởi động lại máy chủ / restart the server.")


def register(app) -> None:
    """Add the account and backup commands to ``app.cli``."""
    for command in (create_user_command, users_command, backup_command, restore_command):
        app.cli.add_command(command)
