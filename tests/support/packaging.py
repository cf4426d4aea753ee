"""The installer built once per test session, unpacked, for the tests that run what it holds
(tests/test_packaging.py, tests/test_frozen_flow.py). The ``package`` fixture is registered
in tests/conftest.py so every such test shares one build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class Package:
    deb: Path
    root: Path  # the .deb unpacked with dpkg-deb -x
    control_dir: Path  # its DEBIAN/ (dpkg-deb -e)
    build_seconds: float

    @property
    def bundle(self) -> Path:
        return self.root / "opt" / "interview-kiosk"

    def field(self, name: str) -> str:
        return run("dpkg-deb", "-f", str(self.deb), name).stdout.strip()

    def depends(self) -> dict[str, str]:
        """Depends as {package: version constraint or ""} (no alternatives are used)."""
        found = {}
        for item in self.field("Depends").split(","):
            match = re.fullmatch(r"\s*([a-z0-9.+-]+)\s*(?:\((.+)\))?\s*", item)
            assert match, f"cannot read Depends item {item!r}"
            found[match[1]] = match[2] or ""
        return found


def run(
    *args: str, env: dict[str, str] | None = None, stdin: int | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, stdin=stdin, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    """The .deb built for this session, or the one IK_PACKAGE_DEB names (a CI job that ran
    `make package` already tests that very artifact)."""
    work = tmp_path_factory.mktemp("package")
    given = os.environ.get("IK_PACKAGE_DEB")
    build_seconds = 0.0
    if given:
        deb = Path(given).resolve()
    else:
        started = time.monotonic()
        # Not dist/ and build/: a developer's `make package` may be running at the same time.
        run(
            str(ROOT / "packaging" / "build-package.sh"),
            str(work / "dist"),
            env={**os.environ, "WORK": str(work / "build")},
        )
        build_seconds = time.monotonic() - started
        shutil.rmtree(work / "build")
        debs = list((work / "dist").glob("*.deb"))
        assert len(debs) == 1, debs
        deb = debs[0]
    assert deb.name == f"interview-kiosk_{VERSION}_amd64.deb"
    root, control_dir = work / "root", work / "control"
    run("dpkg-deb", "-x", str(deb), str(root))
    run("dpkg-deb", "-e", str(deb), str(control_dir))
    yield Package(deb, root, control_dir, build_seconds)
    shutil.rmtree(work)  # ~400 MB; pytest would keep three runs of it
