"""Listen, as a screen reader does, for what applications announce over AT-SPI
(``object:announcement``: Qt's QAccessibleAnnouncementEvent). Run with Debian's Python, which
has pyatspi. Prints "ready" once listening, then one JSON object per announcement (its text
and the name of the object that made it) until terminated.

    /usr/bin/python3 atspi_listen.py
"""

import json
import signal
import sys

import pyatspi


def heard(event):
    source = event.source
    print(
        json.dumps({"text": str(event.any_data), "source": source.name if source else ""}),
        flush=True,
    )


if __name__ == "__main__":
    pyatspi.Registry.registerEventListener(heard, "object:announcement")
    signal.signal(signal.SIGTERM, lambda *_: pyatspi.Registry.stop())
    print("ready", flush=True)
    pyatspi.Registry.start()
    sys.exit(0)
