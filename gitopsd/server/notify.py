"""systemd's sd_notify protocol (READY=1, STOPPING=1, STATUS=...) without libsystemd."""

from __future__ import annotations

import os
import socket


def sd_notify(message: str) -> bool:
    """Sends message to $NOTIFY_SOCKET; returns False when not run under systemd (or it fails)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
        return True
    except OSError:
        return False
