"""Read a running application's accessibility tree as a screen reader (Orca) does, over AT-SPI.

Run with Debian's Python, which has pyatspi (python3-pyatspi); the project's venv has no
``gi``. Prints one JSON object per node that is showing on screen: its role, name,
description, depth and whether it takes focus.

    /usr/bin/python3 atspi_dump.py APP_NAME [TIMEOUT_SECONDS]

Exit status 0, or 100 when the application never appears on the bus.
"""

import json
import sys
import time

import pyatspi


def find_app(name, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for app in pyatspi.Registry.getDesktop(0):
            if app is not None and app.name == name and app.childCount:
                return app
        time.sleep(0.1)
    return None


def walk(node, depth):
    states = node.getState()
    if depth and not states.contains(pyatspi.STATE_SHOWING):
        return  # another screen of the stack, or a hidden control: not read
    print(
        json.dumps(
            {
                "role": node.getRoleName(),
                "name": node.name or "",
                "description": node.description or "",
                "focusable": states.contains(pyatspi.STATE_FOCUSABLE),
                "depth": depth,
            }
        )
    )
    for child in node:
        if child is not None:
            walk(child, depth + 1)


if __name__ == "__main__":
    app = find_app(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 15)
    if app is None:
        print(f"application {sys.argv[1]!r} is not on the AT-SPI bus", file=sys.stderr)
        sys.exit(100)
    walk(app, 0)
