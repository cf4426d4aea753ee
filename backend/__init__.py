"""Interview Kiosk backend: the system of record for accounts, interviews and audio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("interview-kiosk")
except PackageNotFoundError:  # frozen bundle without metadata
    __version__ = "0.0.0"
