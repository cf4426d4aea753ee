"""The kiosk's one exception tree. Controllers catch ``KioskError`` and show its message;
anything else is a bug and goes to the log, never to the candidate's screen."""

from __future__ import annotations


class KioskError(Exception):
    """A failure the kiosk can explain to the person in front of it."""


class ConfigError(KioskError):
    """The kiosk's configuration file is missing a value or has a wrong one."""


class ApiError(KioskError):
    """The backend refused a request or could not be reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class BackendUnreachable(ApiError):
    """No HTTP answer at all: the backend is down or the network is."""


class StreamError(KioskError):
    """The audio stream failed in a way a reconnect cannot fix."""


class InsecureTransport(BackendUnreachable, StreamError):
    """The connection to the backend is not what IT set up: a certificate the kiosk does not
    trust, or a plain ws:// stream offered by an https:// backend. Never retried, and never
    downgraded to plain HTTP: the message tells the proctor to call IT."""


class CertificateNotTrusted(InsecureTransport):
    """The backend's TLS certificate is not one the kiosk trusts (not signed by a CA in the
    system store or ``ca_file``, or not the pinned one)."""


class AudioDeviceError(KioskError):
    """The microphone or the audio system is unavailable."""


class WrongScreen(KioskError):
    """The action is not offered on the screen the kiosk shows (a stale click, a race)."""


class Busy(KioskError):
    """Another action on this screen has not finished yet."""


class Interrupted(KioskError):
    """The screen changed (the kiosk was locked) before the action finished: nothing of it
    was kept."""
