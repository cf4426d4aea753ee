"""The frozen bundle's single entry point: ``interview-kiosk`` or ``interview-backend``.

One program serves both commands, chosen by the name it was started under (``argv[0]``): on
Linux the bundle has ``interview-backend`` as a symbolic link to ``interview-kiosk``, so the
Python modules are on disk once. On Windows, without links, the spec builds console
executables of the same program named ``interview-backend.exe`` and
``interview-kiosk-console.exe`` (any name but the backend's runs the kiosk).
"""

from __future__ import annotations

import os
import sys


def _command_name(argv0: str) -> str:
    # "/usr/bin/interview-backend", "interview-backend.exe" -> "interview-backend"
    name = os.path.basename(argv0)
    stem, ext = os.path.splitext(name)
    return stem.lower() if ext.lower() == ".exe" else name


def main() -> int:
    if _command_name(sys.argv[0]) == "interview-backend":
        from backend.cli import main as backend_main

        return backend_main()
    from kiosk.app import main as kiosk_main

    return kiosk_main()


if __name__ == "__main__":
    sys.exit(main())
