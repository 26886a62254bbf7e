"""`gitopsd login|logout|account ...|admin initial-password`: sessions and local accounts.

`login` stores the session token (and the server's trust settings) in the user's config
file (userconfig.py, mode 0600); later commands use it without --server. `admin
initial-password` is local: it reads the daemon's data dir, so only the daemon's user can.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import hashlib
import os
import re
import sys
import time

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import session_pb2 as sesspb
from gitopsd.api.gitopsd.v1 import session_pb2_grpc as sessgrpc
from gitopsd.cli import account_cani_cmd, userconfig
from gitopsd.cli.client import Client, CLIError, Connection, connection_for, fetch_certificate
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds from '3600', '90s', '30m', '24h' or '7d'; 0 means no expiry."""
    match = _DURATION.match(text.strip())
    if not match:
        raise CLIError(f"invalid duration {text!r}: use e.g. 3600, 30m, 24h or 7d (0 for no expiry)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else "never"


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    login = sub.add_parser("login", parents=[common], help="log in to a daemon and save the session token")
    login.add_argument("address", metavar="SERVER", help="daemon address HOST:PORT or unix:///path.sock")
    login.add_argument("--username", help="account name (prompted when omitted)")
    login.add_argument(
        "--password", help="password (prompted when omitted; visible to other local users: prefer the prompt)"
    )
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.set_defaults(func=cmd_login, connect_to="address")

    logout = sub.add_parser("logout", parents=[common], help="revoke the saved session token and forget it")
    logout.set_defaults(func=cmd_logout)

    account = sub.add_parser("account", help="manage local accounts")
    asub = account.add_subparsers(dest="account_command", metavar="COMMAND", required=True)
    info = asub.add_parser("get-user-info", parents=[common], help="who am I")
    add_output_flag(info)
    info.set_defaults(func=cmd_user_info)
    lst = asub.add_parser("list", parents=[common], help="list accounts")
    add_output_flag(lst, ["wide", "name", "json", "yaml"])
    lst.set_defaults(func=cmd_account_list)
    get = asub.add_parser("get", parents=[common], help="show an account and its API keys (ids only)")
    get.add_argument("--account", default="", help="account name (default: yourself)")
    add_output_flag(get)
    get.set_defaults(func=cmd_account_get)
    upd = asub.add_parser("update-password", parents=[common], help="change a password (yours by default)")
    upd.add_argument(
        "--account", default="", help="whose password (default: yourself; others need accounts update)"
    )
    upd.add_argument("--current-password", help="YOUR current password (prompted when omitted)")
    upd.add_argument("--new-password", help="the new password (prompted when omitted)")
    upd.set_defaults(func=cmd_update_password)
    gen = asub.add_parser("generate-token", parents=[common], help="issue an API key (account with apiKey)")
    gen.add_argument("--account", default="", help="account name (default: yourself)")
    gen.add_argument("--expires-in", default="0", help="lifetime, e.g. 24h or 7d (default 0: no expiry)")
    gen.add_argument("--id", default="", help="token id (default: a random UUID)")
    gen.set_defaults(func=cmd_generate_token)
    dele = asub.add_parser("delete-token", parents=[common], help="revoke an API key by id")
    dele.add_argument("id")
    dele.add_argument("--account", default="", help="account name (default: yourself)")
    dele.set_defaults(func=cmd_delete_token)
    account_cani_cmd.add_parser(asub, common)  # account can-i

    admin = sub.add_parser("admin", help="local administration commands (run as the daemon's user)")
    adsub = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    initial = adsub.add_parser("initial-password", help="print the admin account's initial password")
    initial.add_argument("--config", help="the daemon's YAML config file (env GITOPSD_CONFIG)")
    initial.add_argument(
        "--data-dir", help="the daemon's data dir (default from the config, /var/lib/gitopsd)"
    )
    initial.set_defaults(local="admin-initial-password")


# -- login / logout ---------------------------------------------------------------------


def _trust(args: argparse.Namespace, address: str, entry: dict[str, object]) -> dict[str, object]:
    """The trust settings to save for address: from flags, the saved entry, or the user's OK."""
    if args.plaintext or address.startswith("unix:"):
        return {"plaintext": True}
    if args.insecure:
        return {"insecure": True}
    if args.server_ca:
        return {"server-ca": os.path.abspath(args.server_ca)}  # later commands run from anywhere
    if entry.get("server-ca") or entry.get("insecure"):
        return {k: entry[k] for k in ("server-ca", "insecure") if k in entry}
    pem = fetch_certificate(address)
    # A certificate the system trusts needs no pinning.
    probe = Client(address, timeout=10, connection=Connection())
    try:
        sessgrpc.SessionServiceStub(probe.channel).Create(sesspb.CreateSessionRequest(), timeout=10)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNAVAILABLE:  # TLS worked; the empty login did not
            return {}
    finally:
        probe.close()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(pem.encode())
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    message = (
        f"the TLS certificate of {address} is not signed by a CA you trust.\n"
        f"  subject: {cert.subject.rfc4514_string()}\n"
        f"  SHA-256 fingerprint: {':'.join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2))}\n"
    )
    if not sys.stdin.isatty():
        raise CLIError(
            message
            + "refusing to continue without --server-ca FILE (e.g. the daemon's DATA_DIR/run/grpc.crt) "
            "or --insecure"
        )
    sys.stderr.write(message)
    if input("Trust this certificate and save it for later commands? [y/N] ").strip().lower() not in (
        "y",
        "yes",
    ):
        raise CLIError("login cancelled: certificate not trusted")
    return {"server-ca": str(userconfig.save_certificate(address, pem))}


def _read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.password is not None:
        return str(args.password)
    return getpass.getpass(prompt)


def cmd_login(args: argparse.Namespace, client: Client) -> int:
    address = client.address  # as typed, normalized (https://host:port -> host:port)
    data = userconfig.load()
    entry = userconfig.server_entry(data, address)
    trust = _trust(args, address, entry)
    conn = connection_for(
        address,
        token=None,
        server_ca=str(trust.get("server-ca") or "") or None,
        plaintext=bool(trust.get("plaintext")),
        insecure=bool(trust.get("insecure")),
    )
    username = args.username or (input("Username: ").strip() if sys.stdin.isatty() else "")
    if not username:
        raise CLIError("--username is required when not running interactively")
    password = _read_password(args)
    session = Client(
        address,
        timeout=client.timeout,
        connection=Connection(ca_pem=conn.ca_pem, plaintext=conn.plaintext, insecure=conn.insecure),
    )
    try:
        reply = sessgrpc.SessionServiceStub(session.channel).Create(
            sesspb.CreateSessionRequest(username=username, password=password), timeout=client.timeout
        )
    finally:
        session.close()
    servers = data.setdefault("servers", {})
    if not isinstance(servers, dict):
        servers = data["servers"] = {}
    servers[address] = {**trust, "auth-token": reply.token, "username": username}
    data["current-server"] = address
    path = userconfig.save(data)
    print(
        f"'{username}' logged in to {address} (session saved in {path}, expires {_stamp(reply.expires_at)})"
    )
    return 0


def cmd_logout(args: argparse.Namespace, client: Client) -> int:
    data = userconfig.load()
    entry = userconfig.server_entry(data, client.address)
    if not entry.get("auth-token"):
        raise CLIError(f"not logged in to {client.address}")
    # Revoke the saved session, not a token from --auth-token or GITOPSD_AUTH_TOKEN.
    saved = Client(
        client.address, client.timeout, dataclasses.replace(client.connection, token=str(entry["auth-token"]))
    )
    try:
        saved.sessions.Delete(common_pb2.Empty(), timeout=client.timeout)
    except grpc.RpcError as exc:
        # An already invalid token is as good as revoked; anything else is worth saying.
        if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
            raise
    finally:
        saved.close()
    entry.pop("auth-token", None)
    entry.pop("username", None)
    userconfig.save(data)
    print(f"logged out from {client.address}")
    return 0


# -- accounts -------------------------------------------------------------------------


def _accounts(client: Client) -> sessgrpc.AccountServiceStub:
    return sessgrpc.AccountServiceStub(client.channel)


def cmd_user_info(args: argparse.Namespace, client: Client) -> int:
    info = client.sessions.GetUserInfo(common_pb2.Empty(), timeout=client.timeout)
    doc = {
        "loggedIn": info.logged_in,
        "username": info.username,
        "groups": list(info.groups),
        "issuer": info.issuer,
    }
    if args.output in ("json", "yaml"):
        dump(doc, args.output)
        return 0
    print_fields(
        [
            ("Logged In", "true" if info.logged_in else "false"),
            ("Username", info.username),
            ("Groups", ", ".join(info.groups) or "<none>"),
            ("Issuer", info.issuer),
        ]
    )
    return 0


def _account_doc(a: sesspb.Account) -> dict[str, object]:
    return {
        "name": a.name,
        "enabled": a.enabled,
        "capabilities": list(a.capabilities),
        "tokens": [
            {"id": t.id, "issuedAt": _stamp(t.issued_at), "expiresAt": _stamp(t.expires_at)} for t in a.tokens
        ],
    }


def cmd_account_list(args: argparse.Namespace, client: Client) -> int:
    items = _accounts(client).List(common_pb2.Empty(), timeout=client.timeout).items
    if args.output in ("json", "yaml"):
        dump([_account_doc(a) for a in items], args.output)
    elif args.output == "name":
        for a in items:
            print(a.name)
    else:
        print_table(
            ["NAME", "ENABLED", "CAPABILITIES"],
            [(a.name, str(a.enabled).lower(), ", ".join(a.capabilities)) for a in items],
        )
    return 0


def cmd_account_get(args: argparse.Namespace, client: Client) -> int:
    a = _accounts(client).Get(common_pb2.NameRequest(name=args.account), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(_account_doc(a), args.output)
        return 0
    print_fields(
        [("Name", a.name), ("Enabled", str(a.enabled).lower()), ("Capabilities", ", ".join(a.capabilities))]
    )
    print()
    print("TOKENS:")
    print_table(
        ["ID", "ISSUED AT", "EXPIRES AT"],
        [(t.id, _stamp(t.issued_at), _stamp(t.expires_at)) for t in a.tokens],
    )
    return 0


def cmd_update_password(args: argparse.Namespace, client: Client) -> int:
    current = (
        args.current_password
        if args.current_password is not None
        else getpass.getpass("Current password (yours): ")
    )
    new = args.new_password
    if new is None:
        new = getpass.getpass("New password: ")
        if getpass.getpass("Confirm new password: ") != new:
            raise CLIError("the new passwords do not match")
    _accounts(client).UpdatePassword(
        sesspb.UpdatePasswordRequest(name=args.account, current_password=current, new_password=new),
        timeout=client.timeout,
    )
    print(f"password updated for {args.account or 'your account'}")
    data = userconfig.load()
    entry = userconfig.server_entry(data, client.address)
    own = not args.account or args.account == entry.get("username")
    if own and entry.get("auth-token"):
        # Changing your password ends your sessions: log in again with the new one.
        reply = client.sessions.Create(
            sesspb.CreateSessionRequest(username=str(entry.get("username")), password=new),
            timeout=client.timeout,
        )
        entry["auth-token"] = reply.token
        userconfig.save(data)
        print("session renewed with the new password")
    return 0


def cmd_generate_token(args: argparse.Namespace, client: Client) -> int:
    reply = _accounts(client).CreateToken(
        sesspb.CreateAccountTokenRequest(
            name=args.account, expires_in=parse_duration(args.expires_in), id=args.id
        ),
        timeout=client.timeout,
    )
    print(reply.token)
    return 0


def cmd_delete_token(args: argparse.Namespace, client: Client) -> int:
    _accounts(client).DeleteToken(
        sesspb.DeleteAccountTokenRequest(name=args.account, id=args.id), timeout=client.timeout
    )
    print(f"token '{args.id}' revoked")
    return 0


# -- admin (local) ---------------------------------------------------------------------


def run_initial_password(args: argparse.Namespace) -> int:
    from gitopsd.auth.accounts import INITIAL_PASSWORD_FILE
    from gitopsd.server.config import ConfigError, load_config

    try:
        config = load_config(
            args.config or os.environ.get("GITOPSD_CONFIG"), overrides={"data_dir": args.data_dir}
        )
    except ConfigError as exc:
        sys.stderr.write(f"gitopsd admin initial-password: config: {exc}\n")
        return 2
    path = config.data_path / INITIAL_PASSWORD_FILE
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        sys.stderr.write(
            f"no initial admin password in {config.data_path}: the daemon has not started yet, "
            "or the admin password was changed since (the file is removed then)\n"
        )
        return 1
    except PermissionError:
        sys.stderr.write(f"cannot read {path}: run this as the daemon's user (e.g. sudo -u gitopsd)\n")
        return 1
    print(password)
    return 0
