"""The shipped ``resources/`` directory (role mappings, prompts, question banks), found from a
source checkout or a PyInstaller bundle alike. ``IK_RESOURCES_DIR`` overrides both."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    override = os.environ.get("IK_RESOURCES_DIR")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"
