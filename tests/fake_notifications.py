"""A notification server with a reply field, as KDE Plasma's, for the tests.

No notification server in Debian 12 that runs headless here offers the
freedesktop ``inline-reply`` capability (dunst and GNOME Shell 43 do not; Plasma's
needs plasmashell). This small server speaks the same protocol on a real bus:
``GetCapabilities`` (with ``inline-reply``), ``GetServerInformation``, ``Notify``
and ``CloseNotification``, and it emits ``ActionInvoked`` and
``NotificationReplied`` when told to on stdin::

    invoke ID ACTION_KEY
    reply ID some text

Every ``Notify`` is written to stdout as one JSON line (id, summary, body, actions,
hints with string values), so a test can follow what was shown.

Run: ``python tests/fake_notifications.py BUS_ADDRESS``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
StrList = Annotated[list[str], DBusSignature("as")]


class Server(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(NAME)
        self.next_id = 0

    @dbus_method()
    def GetCapabilities(self) -> StrList:
        return ["body", "actions", "inline-reply"]

    @dbus_method()
    def GetServerInformation(self) -> Annotated[list[str], DBusSignature("ssss")]:
        return ["Plasma", "KDE", "5.27.5", "1.2"]

    @dbus_method()
    def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr,
               summary: DBusStr, body: DBusStr, actions: StrList,
               hints: Annotated[dict[str, Variant], DBusSignature("a{sv}")],
               expire_timeout: Annotated[int, DBusSignature("i")]) -> DBusUInt32:
        self.next_id += 1
        shown = {"id": self.next_id, "app": app_name, "summary": summary, "body": body,
                 "actions": actions,
                 "hints": {k: v.value for k, v in hints.items() if v.signature == "s"}}
        print(json.dumps(shown), flush=True)
        return self.next_id

    @dbus_method()
    def CloseNotification(self, nid: DBusUInt32):  # type: ignore[no-untyped-def]  # void
        print(json.dumps({"closed": nid}), flush=True)

    @dbus_signal()
    def ActionInvoked(self) -> Annotated[list[Any], DBusSignature("us")]:
        return list(self._signal)

    @dbus_signal()
    def NotificationReplied(self) -> Annotated[list[Any], DBusSignature("us")]:
        return list(self._signal)

    def tell(self, line: str) -> None:
        verb, nid, rest = [*line.rstrip("\n").split(" ", 2), "", ""][:3]
        self._signal = (int(nid), rest)
        if verb == "invoke":
            self.ActionInvoked()
        elif verb == "reply":
            self.NotificationReplied()


async def main(address: str) -> None:
    bus = await MessageBus(bus_address=address).connect()
    server = Server()
    bus.export(PATH, server)
    await bus.request_name(NAME)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        server.tell(line)
        print(json.dumps({"told": line.strip()}), flush=True)
    bus.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
