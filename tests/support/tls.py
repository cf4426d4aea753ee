"""A test center's own certificate authority, made with Debian's ``openssl`` command: a CA,
a server certificate it signs for 127.0.0.1 and localhost, and a second CA that signs
nothing the server uses (for "signed by someone else")."""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


@dataclass(frozen=True)
class CenterPki:
    ca_file: Path  # the CA's certificate: what IT puts in kiosk.toml's ca_file
    cert_file: Path  # the backend's certificate
    key_file: Path  # and its key
    other_ca_file: Path  # a CA that did not sign the backend's certificate

    @property
    def cert_sha256(self) -> str:
        """The backend certificate's fingerprint as openssl prints it (AA:BB:...)."""
        der = ssl.PEM_cert_to_DER_cert(self.cert_file.read_text())
        return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", *_EC, "-keyout", key.name, "-out", cert.name, "-days", "2",
        "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory,
    )  # fmt: skip
    return cert, key


def make_test_center_pki(directory: Path) -> CenterPki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _ca(directory, "Test Center CA")
    other_ca, _ = _ca(directory, "Some Other CA")
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", *_EC, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=interview-backend", cwd=directory)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", ca_cert.name, "-CAkey", ca_key.name,
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return CenterPki(ca_cert, directory / "server.pem", directory / "server.key", other_ca)
