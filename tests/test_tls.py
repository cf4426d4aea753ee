"""TLS with the test center's own CA (issue 19): the backend serves https:// and wss:// with a
certificate signed by a CA the test makes with openssl; the kiosk trusts it through
``ca_file`` (and optionally a pin), for REST and both WebSocket channels alike, and says in
one plain sentence when it does not."""

from __future__ import annotations

import asyncio
import io
import os
import ssl
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from backend.app.core.config import Settings
from backend.app.server import BackgroundServer, TlsFilesUnusable, check_tls_files
from kiosk.core.api_client import KioskApi
from kiosk.core.config import KioskConfig
from kiosk.core.control import SeatControl, control_url
from kiosk.core.errors import CertificateNotTrusted, ConfigError, InsecureTransport
from kiosk.core.flow import KioskFlow, Screen
from kiosk.core.spool import Spool, SpoolInfo
from kiosk.core.streamer import AudioStreamer
from kiosk.core.tls import (
    CERTIFICATE_NOT_TRUSTED,
    PLAIN_STREAM_REFUSED,
    PinMismatch,
    client_context,
    parse_pin,
)
from kiosk.ui.controllers.backend_status import BackendStatusController
from kiosk.ui.views.main_window import MainWindow
from support.api import Actor, Api
from support.capture import SyntheticMic
from support.qt import ON_QT_LOOP, until
from support.room import assign_center, enroll_kiosk
from support.settings import settings_for
from support.stream import new_interview
from support.tls import CenterPki, make_test_center_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CenterPki:
    return make_test_center_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def backend_settings(data_dir: Path, request: pytest.FixtureRequest, pki: CenterPki) -> Settings:
    """The usual test backend (SQLite, or PostgreSQL with --backend-db), serving TLS."""
    return settings_for(request, data_dir).model_copy(
        update={"tls_cert_file": pki.cert_file, "tls_key_file": pki.key_file}
    )


@pytest.fixture
def api(backend_server: BackgroundServer, pki: CenterPki) -> Iterator[Api]:
    client = Api(backend_server, verify=ssl.create_default_context(cafile=str(pki.ca_file)))
    try:
        yield client
    finally:
        client.http.close()


def _config(kiosk_id: str, **values: object) -> KioskConfig:
    return KioskConfig.from_mapping({"kiosk_id": kiosk_id, **values}, "test")


def _recording(api: Api, admin: Actor, interview_id: str) -> bytes:
    response = api.request("GET", f"/api/v1/interviews/{interview_id}/recording", admin)
    assert response.status_code == 200, response.text
    with wave.open(io.BytesIO(response.content)) as wav:
        return wav.readframes(wav.getnframes())


@pytest.mark.asyncio
async def test_the_whole_interview_runs_over_https_and_wss_with_the_centers_ca(
    api: Api, people: dict[str, Actor], pki: CenterPki, tmp_path: Path
) -> None:
    assert api.url.startswith("https://")
    config = _config("seat-tls", test_center="Leeds", ca_file=str(pki.ca_file))
    tls = client_context(config.ca_file, config.certificate_pin)
    credential = enroll_kiosk(api.server.settings, "seat-tls", "leeds")
    assign_center(api.server.settings, people["proctor"].id, "leeds")
    mic = SyntheticMic()
    async with httpx.AsyncClient(verify=tls) as http:
        flow = KioskFlow(KioskApi(http, api.url), config, tmp_path / "spool", mic, tls=tls)
        control = SeatControl(flow, control_url(api.url, "seat-tls"), credential, tls=tls)
        channel = asyncio.create_task(control.run())
        try:
            flow.open_sign_in()
            await flow.sign_in(people["proctor"].email, people["proctor"].password)
            candidate = next(
                c for c in flow.state.candidates if c.email == people["candidate"].email
            )
            await flow.launch(candidate)
            await flow.choose(role_type="python")
            await flow.start_interview()
            streamer = flow.streamer
            assert streamer is not None and streamer.ws_url.startswith("wss://")
            await until(lambda: streamer.acked >= 32000, timeout=10)  # a second, fsync'd
            await until(lambda: control.connected, timeout=10)  # the room channel, over wss
            planned = flow.state.planned
            assert planned is not None
            await flow.finish()
            await until(lambda: flow.state.screen is Screen.DONE, timeout=15)
        finally:
            channel.cancel()
    assert control.last_error is None
    assert _recording(api, people["admin"], planned.interview_id) == bytes(mic.captures[-1])


@pytest.mark.asyncio
async def test_an_https_backend_handing_out_a_plain_stream_url_is_refused(
    api: Api, people: dict[str, Actor], pki: CenterPki, tmp_path: Path
) -> None:
    # As a TLS proxy in front of a backend that neither knows IK_WS_BASE_URL nor gets
    # X-Forwarded-Proto would: the stream URL it hands out says ws://.
    api.server.settings.ws_base_url = api.server.ws_url.replace("wss://", "ws://")
    config = _config("seat-plain", ca_file=str(pki.ca_file))
    tls = client_context(config.ca_file)
    async with httpx.AsyncClient(verify=tls) as http:
        flow = KioskFlow(KioskApi(http, api.url), config, tmp_path / "spool", SyntheticMic(),
                         tls=tls)  # fmt: skip
        flow.open_sign_in()
        await flow.sign_in(people["proctor"].email, people["proctor"].password)
        candidate = next(c for c in flow.state.candidates if c.email == people["candidate"].email)
        await flow.launch(candidate)
        await flow.choose(role_type="python")
        with pytest.raises(InsecureTransport) as refused:
            await flow.start_interview()
    assert str(refused.value) == PLAIN_STREAM_REFUSED
    assert flow.state.screen is not Screen.INTERVIEW


@pytest.mark.asyncio
@pytest.mark.parametrize("trust", ["system store only", "another CA", "wrong pin"])
async def test_an_untrusted_certificate_is_one_sentence_on_every_channel(
    api: Api, pki: CenterPki, trust: str
) -> None:
    tls = {
        "system store only": lambda: client_context(),
        "another CA": lambda: client_context(pki.other_ca_file),
        "wrong pin": lambda: client_context(pki.ca_file, bytes(32)),
    }[trust]()
    async with httpx.AsyncClient(verify=tls) as http:
        with pytest.raises(CertificateNotTrusted) as refused:
            await KioskApi(http, api.url).health()
    assert str(refused.value) == CERTIFICATE_NOT_TRUSTED
    # The WebSocket side refuses the same certificate in its handshake, before any request.
    expected = PinMismatch if trust == "wrong pin" else ssl.SSLCertVerificationError
    with pytest.raises(expected):
        await connect(api.server.ws_url + "/ws/interviews/x", ssl=tls, open_timeout=5)


@pytest.mark.asyncio
async def test_a_wrong_pin_on_either_websocket_is_the_sentence_not_a_crash(
    api: Api, pki: CenterPki, tmp_path: Path
) -> None:
    wrong_pin = client_context(pki.ca_file, bytes(32))
    # The room channel says so and keeps trying (IT may fix the pin); it does not die.
    credential = enroll_kiosk(api.server.settings, "seat-pin", "leeds")
    async with httpx.AsyncClient(verify=client_context(pki.ca_file)) as http:
        flow = KioskFlow(KioskApi(http, api.url), _config("seat-pin"), tmp_path / "spool",
                         SyntheticMic())  # fmt: skip
        control = SeatControl(flow, control_url(api.url, "seat-pin"), credential, tls=wrong_pin)
        channel = asyncio.create_task(control.run())
        try:
            await until(lambda: control.last_error is not None, timeout=5)
            assert control.last_error == CERTIFICATE_NOT_TRUSTED
            await asyncio.sleep(0.2)
            assert not channel.done()
        finally:
            channel.cancel()
    # The interview's stream fails with the sentence at once, not as an unexpected error.
    target = new_interview(api)
    spool = Spool(tmp_path / "stream", SpoolInfo(target.interview_id, target.ws_url, 16000))
    streamer = AudioStreamer(spool, target.candidate.token, tls=wrong_pin, encrypted_only=True)
    with pytest.raises(CertificateNotTrusted) as refused:
        await asyncio.wait_for(streamer.run(), 10)
    assert str(refused.value) == CERTIFICATE_NOT_TRUSTED
    assert streamer.error == CERTIFICATE_NOT_TRUSTED
    spool.close()


@pytest.mark.asyncio
async def test_the_right_pin_is_accepted_over_rest_and_websocket(api: Api, pki: CenterPki) -> None:
    tls = client_context(pki.ca_file, parse_pin(pki.cert_sha256))
    async with httpx.AsyncClient(verify=tls) as http:
        assert (await KioskApi(http, api.url).health()).ok
    # Past TLS: the backend itself answers (no token: refused in the HTTP handshake).
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(api.server.ws_url + "/ws/kiosks/seat-1", ssl=tls, open_timeout=5)
    assert refused.value.response.status_code in (401, 403)


@ON_QT_LOOP
async def test_the_locked_screen_says_the_certificate_is_not_trusted(
    qtbot: object, api: Api
) -> None:
    window = MainWindow("seat-1", "Leeds")
    async with httpx.AsyncClient(verify=client_context()) as http:
        status = BackendStatusController(window, KioskApi(http, api.url))
        status.start()
        await until(lambda: window.status_label.text() != "Connecting…", timeout=10)
        assert window.status_label.text() == CERTIFICATE_NOT_TRUSTED


def _self_test(tmp_path: Path, url: str, **settings: str) -> str:
    lines = [f'backend_url = "{url}"', f'data_dir = "{tmp_path}"']
    lines += [f'{name} = "{value}"' for name, value in settings.items()]
    (tmp_path / "kiosk.toml").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IK_KIOSK_")}
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(tmp_path / "kiosk.toml"), "--self-test"],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr
    return next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["backend"])


def test_self_test_checks_the_configured_backend_through_the_kiosks_trust(
    api: Api, pki: CenterPki, tmp_path: Path
) -> None:
    trusted = _self_test(tmp_path, api.url, ca_file=str(pki.ca_file))
    assert trusted.startswith("ok") and f"{api.url}/health ok" in trusted
    pinned = _self_test(
        tmp_path, api.url, ca_file=str(pki.ca_file), certificate_pin=pki.cert_sha256
    )
    assert pinned.startswith("ok")
    assert _self_test(tmp_path, api.url) == f"FAIL backend  {CERTIFICATE_NOT_TRUSTED}"
    wrong_pin = _self_test(tmp_path, api.url, ca_file=str(pki.ca_file), certificate_pin="00" * 32)
    assert wrong_pin == f"FAIL backend  {CERTIFICATE_NOT_TRUSTED}"


def test_kiosk_tls_settings_are_checked_when_read(tmp_path: Path, pki: CenterPki) -> None:
    with pytest.raises(ConfigError, match="certificate_pin must be a SHA-256 fingerprint"):
        _config("seat-1", certificate_pin="12:34")
    assert _config("seat-1", certificate_pin=pki.cert_sha256).certificate_pin == parse_pin(
        pki.cert_sha256.lower().replace(":", "")
    )
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match=f"ca_file {missing}: cannot be read"):
        client_context(missing)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=f"ca_file {not_pem}: cannot be read"):
        client_context(not_pem)


def test_the_backend_names_unusable_tls_files_in_one_line(tmp_path: Path, pki: CenterPki) -> None:
    with pytest.raises(ValueError, match="set together or not at all"):
        Settings(data_dir=tmp_path, tls_cert_file=pki.cert_file)
    wrong_key = Settings(data_dir=tmp_path, tls_cert_file=pki.ca_file, tls_key_file=pki.key_file)
    with pytest.raises(TlsFilesUnusable, match="cannot be used as a certificate and its key"):
        check_tls_files(wrong_key)
    env = {**os.environ, "IK_DATA_DIR": str(tmp_path), "IK_TLS_CERT_FILE": "relative.pem",
           "IK_TLS_KEY_FILE": str(pki.key_file)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "interview-backend: IK_TLS_CERT_FILE: Value error, must be an absolute path"
    )
