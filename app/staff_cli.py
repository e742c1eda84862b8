"""Console accounts: `bot.py staff add NAME --role staff|admin --password-stdin`,
`bot.py staff list`, `bot.py staff disable NAME`, `bot.py staff passwd NAME --password-stdin`.

Passwords are read from standard input (first line) with --password-stdin, otherwise asked
for twice on the terminal; they never appear in the process list or the shell history.
Changes are recorded in the audit trail as ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path


def add_commands(sub, add_db) -> None:
    staff = sub.add_parser("staff", help="admin: web console accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = staff_sub.add_parser("add", help="create an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=("staff", "admin"), required=True,
                     help="staff: FAQ, queue, feedback, hit testing, synonyms; admin: also documents, reindex, accounts")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_db(add)
    listing = staff_sub.add_parser("list", help="list accounts")
    add_db(listing)
    disable = staff_sub.add_parser("disable", help="stop an account from logging in")
    disable.add_argument("name", metavar="NAME")
    add_db(disable)
    passwd = staff_sub.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_db(passwd)
    staff.set_defaults(handler=run_staff)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码：")
    if getpass.getpass("再输入一次：") != first:
        raise ValueError("两次输入的密码不一致")
    return first


def run_staff(args, settings) -> int:
    from ops.accounts import AccountError, StaffAccounts
    from qa.store import Store

    store = Store(Path(args.db or settings.db_path))
    accounts = StaffAccounts(store)
    try:
        command = args.staff_command
        if command == "add":
            account = accounts.add(args.name, args.role, _password(args.password_stdin), actor=_actor())
            print(f"已创建账号 {account.name}（{account.role}）")
        elif command == "list":
            rows = accounts.list()
            for a in rows:
                state = "" if a.status == "active" else "（已停用）"
                print(f"{a.name}{state}  {a.role}  创建 {a.created_at}  最近登录 {a.last_login_at or '从未'}")
            print(f"共 {len(rows)} 个账号")
        elif command == "disable":
            print(f"已停用账号 {accounts.disable(args.name, actor=_actor()).name}")
        elif command == "passwd":
            print(f"已修改 {accounts.set_password(args.name, _password(args.password_stdin), actor=_actor()).name} 的密码")
        return 0
    except (AccountError, ValueError) as exc:
        print(f"未完成：{exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
