"""systemd's service notifications (sd_notify), over the NOTIFY_SOCKET datagram socket.

With ``Type=notify`` systemd waits for ``READY=1`` before it counts the service as
started, and with ``WatchdogSec`` it restarts a service that stops sending
``WATCHDOG=1``: the bot sends it from its event loop at half the interval systemd asks
for (``WATCHDOG_USEC``), so a loop that hangs gets the process restarted. Outside
systemd (no NOTIFY_SOCKET) every call does nothing. The protocol is one datagram of
``KEY=value`` lines; a socket path starting with ``@`` is in the abstract namespace.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog: float | None = None
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **state: str | int) -> bool:
        """Send ``KEY=value`` lines; False (logged once per call) when it failed."""
        if not self.address:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in state.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as error:
            logger.warning("could not notify systemd (%s): %s", self.address, error)
            return False
        return True

    def ready(self, status: str) -> None:
        self.send(ready=1, status=status, mainpid=os.getpid())

    def stopping(self) -> None:
        self.send(stopping=1)

    async def keep_alive(self) -> None:
        """Send WATCHDOG=1 at half systemd's interval, for as long as it runs."""
        if self.watchdog is None or not self.enabled:
            return
        while True:
            self.send(watchdog=1)
            await asyncio.sleep(self.watchdog / 2)
