"""Is there a screen to draw on? Decided before Qt is loaded, so a headless machine gets one
clear line instead of Qt's abort message about the xcb plugin."""

from __future__ import annotations

import sys
from collections.abc import Mapping

# Platforms that need no display server.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc", "eglfs", "linuxfb"})

NO_DISPLAY_MESSAGE = (
    "interview-kiosk: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
    "run it from a graphical session, or run the backend headless with `make serve`."
)


def display_problem(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Return the one-line explanation when no display is usable, else None."""
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0]
    if qpa in HEADLESS_PLATFORMS:
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY_MESSAGE
