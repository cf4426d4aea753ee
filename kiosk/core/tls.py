"""Whom the kiosk trusts to be its backend: one SSL context for every connection to it.

httpx verifies against certifi's bundle by default and websockets against the system's store,
so a test center's own CA installed on the workstation was trusted by one and not the other.
The kiosk builds one context in ``main`` and hands it to both: the system trust store, plus
the test center's CA (``ca_file`` in kiosk.toml) when IT names one, plus, optionally, the
SHA-256 fingerprint of the backend's own certificate (``certificate_pin``) checked during the
handshake, before a token or a byte of audio is sent.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from pathlib import Path

from kiosk.core.errors import ConfigError

# What the candidate and the proctor read; IT reads the reason in the log.
CERTIFICATE_NOT_TRUSTED = "The backend's certificate is not trusted: ask IT."
PLAIN_STREAM_REFUSED = "The backend offered an unencrypted audio stream: ask IT."

_PIN = re.compile(r"^(?:[0-9a-f]{2}:){31}[0-9a-f]{2}$|^[0-9a-f]{64}$")


class PinMismatch(ssl.SSLCertVerificationError):
    """The backend's certificate chains to a trusted CA but is not the pinned one."""

    def __init__(self) -> None:
        message = "the backend's certificate is not the one certificate_pin names"
        super().__init__(1, message)
        # What OpenSSL's own verification failures carry, so handlers read them alike.
        self.verify_code = 0
        self.verify_message = message


def parse_pin(text: str) -> bytes:
    """A SHA-256 fingerprint as ``openssl x509 -noout -fingerprint -sha256`` prints it (the
    ``sha256 Fingerprint=`` prefix optional), or the same 64 hex digits without colons."""
    value = text.strip().lower().removeprefix("sha256 fingerprint=")
    if not _PIN.match(value):
        raise ValueError(
            "certificate_pin must be a SHA-256 fingerprint: 32 bytes in hex, with or without "
            "colons, as `openssl x509 -noout -fingerprint -sha256` prints it"
        )
    return bytes.fromhex(value.replace(":", ""))


def client_context(ca_file: Path | None = None, pin: bytes | None = None) -> ssl.SSLContext:
    """The context for https:// and wss:// to the backend. Hostname checks and certificate
    verification stay on: there is no setting that turns them off."""
    context = ssl.create_default_context()  # the system store, TLS 1.2+, hostname checked
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"ca_file {ca_file}: cannot be read as PEM certificates ({reason})"
            ) from None
    if pin is not None:
        context.sslobject_class = _pinned(pin)
    return context


def _pinned(pin: bytes) -> type[ssl.SSLObject]:
    # Both clients handshake through SSLContext.wrap_bio (asyncio's SSL protocol for
    # websockets, anyio's TLS stream for httpx), which builds its objects from this class: a
    # mismatch fails the handshake itself, as an untrusted chain would.
    class PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            if der is None or hashlib.sha256(der).digest() != pin:
                raise PinMismatch

    return PinnedSSLObject


def refusal_reason(exc: ssl.SSLCertVerificationError) -> str:
    """Why a certificate was refused, for the log (IT's to read, never the screen's)."""
    return getattr(exc, "verify_message", None) or str(exc)


def certificate_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (an httpx or websockets error, or what it wraps) is a certificate the
    kiosk does not trust, as opposed to a backend that is down."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
