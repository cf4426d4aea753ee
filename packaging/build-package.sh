#!/usr/bin/env bash
# Build the PyInstaller bundle and the .deb: what `make package` runs.
#
#   packaging/build-package.sh [OUT_DIR]        (default: dist/)
#
# Writes OUT_DIR/interview-kiosk/ (the onedir bundle) and
# OUT_DIR/interview-kiosk_<version>_<arch>.deb. Needs the project's venv ($VENV, default .venv)
# with PyInstaller, and dpkg-deb; nothing else (no debhelper, no fpm).
set -euo pipefail
umask 022  # what lands in the package is world-readable unless chmod-ed below

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
OUT=$(realpath -m "${1:-$ROOT/dist}")
WORK=${WORK:-$ROOT/build}
DEB_SRC=$ROOT/packaging/deb

VERSION=$("$VENV/bin/python" -c \
  'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$ROOT/pyproject.toml")
# The bundle is native code: the package is for the architecture it was built on.
ARCH=$(dpkg --print-architecture)
DEB=$OUT/interview-kiosk_${VERSION}_${ARCH}.deb

started=$SECONDS
echo "== bundle: interview-kiosk $VERSION ($ARCH) -> $OUT/interview-kiosk"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$OUT" --workpath "$WORK/pyinstaller" "$ROOT/packaging/interview-kiosk.spec"
BUNDLE=$OUT/interview-kiosk
# Cheap sanity check: the frozen program starts and knows its version (package metadata).
for command in interview-kiosk interview-backend; do
  reported=$("$BUNDLE/$command" --version)
  if [[ "$reported" != "$command $VERSION" ]]; then
    echo "build-package: $command --version says '$reported', expected '$command $VERSION'" >&2
    exit 1
  fi
done
echo "   $(du -sm "$BUNDLE" | cut -f1) MiB in $((SECONDS - started)) s"

echo "== package: $DEB"
PKG=$WORK/deb/root
rm -rf "$PKG"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/lib/interview-kiosk" \
  "$PKG/usr/share/applications" "$PKG/usr/share/xsessions" "$PKG/usr/share/doc/interview-kiosk" \
  "$PKG/lib/systemd/system" "$PKG/etc/interview-kiosk"

# The bundle, with its symbolic links (PyInstaller 6 uses them; copies would double Qt).
cp -a "$BUNDLE" "$PKG/opt/interview-kiosk"
ln -s /opt/interview-kiosk/interview-kiosk "$PKG/usr/bin/interview-kiosk"
# The bundle's own link, so argv[0] stays "interview-backend" (packaging/launcher.py).
ln -s /opt/interview-kiosk/interview-backend "$PKG/usr/bin/interview-backend"

install -m 0644 "$DEB_SRC/interview-kiosk.desktop" "$PKG/usr/share/applications/"
install -m 0644 "$DEB_SRC/interview-kiosk-session.desktop" \
  "$PKG/usr/share/xsessions/interview-kiosk.desktop"
install -m 0755 "$DEB_SRC/kiosk-session" "$PKG/usr/lib/interview-kiosk/kiosk-session"
# Debian 12 packages ship units in /lib (merged /usr makes it /usr/lib as well).
install -m 0644 "$DEB_SRC/interview-backend.service" "$PKG/lib/systemd/system/"
install -m 0644 "$ROOT/docs/deployment.md" "$PKG/usr/share/doc/interview-kiosk/"

# Conffiles (DEBIAN/conffiles): dpkg keeps an administrator's edits across upgrades.
install -m 0644 "$ROOT/resources/kiosk.toml" "$PKG/etc/interview-kiosk/kiosk.toml"
# May hold the database password: readable by root only (systemd reads it as root).
install -m 0600 "$DEB_SRC/backend.env" "$PKG/etc/interview-kiosk/backend.env"

install -m 0644 "$DEB_SRC/conffiles" "$PKG/DEBIAN/conffiles"
install -m 0755 "$DEB_SRC/postinst" "$DEB_SRC/prerm" "$DEB_SRC/postrm" "$PKG/DEBIAN/"
installed_kb=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$installed_kb/" -e "s/@ARCH@/$ARCH/" \
  "$DEB_SRC/control" >"$PKG/DEBIAN/control"

# xz: about 25% smaller than zstd for this bundle, which keeps the .deb within its budget.
rm -f "$DEB"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "   $(du -m "$DEB" | cut -f1) MiB; done in $((SECONDS - started)) s"
