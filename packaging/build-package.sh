#!/usr/bin/env bash
# Build the PyInstaller bundle and the .deb: what `make package` runs.
#
#   packaging/build-package.sh [OUT_DIR]        (default: dist/)
#
# Writes OUT_DIR/interview-kiosk/ (the onedir bundle) and
# OUT_DIR/interview-kiosk_<version>_<arch>.deb. Needs the project's venv ($VENV, default .venv)
# with PyInstaller, dpkg-deb and chrpath; nothing else (no debhelper, no fpm). What debhelper
# would do is done here by hand: the Debian changelog and copyright file, compressed manual
# pages, md5sums, the systemd unit's maintainer-script snippets (packaging/deb/postinst...),
# and the lintian overrides for what a bundle in /opt is (packaging/deb/lintian-overrides).
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
# The Debian changelog's latest entry is the version being built (as dpkg-gencontrol takes it).
changelog_version=$(sed -n '1s/^interview-kiosk (\([^)]*\)).*/\1/p' "$DEB_SRC/changelog")
if [[ "$changelog_version" != "$VERSION" ]]; then
  echo "build-package: the latest entry of packaging/deb/changelog is '$changelog_version'," \
    "pyproject.toml says $VERSION: add an entry for it" >&2
  exit 1
fi

started=$SECONDS
echo "== bundle: interview-kiosk $VERSION ($ARCH) -> $OUT/interview-kiosk"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$OUT" --workpath "$WORK/pyinstaller" "$ROOT/packaging/interview-kiosk.spec"
BUNDLE=$OUT/interview-kiosk
# Shared libraries as Debian installs them: not executable, and searching nothing outside the
# bundle. PyInstaller copies libpython and CPython's extension modules with the RUNPATH of the
# Python it ran on (e.g. /root/.pyenv/versions/3.11.7/lib, a directory of the build machine);
# the bundle finds its libraries without it (its bootloader puts _internal on LD_LIBRARY_PATH).
# $ORIGIN-relative paths (Qt's, PySide's) stay.
while IFS= read -r -d '' library; do
  search_path=$(readelf -dW "$library" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p')
  if [[ -n "$search_path" && "$search_path" != *'$ORIGIN'* ]]; then
    chrpath -d "$library" >/dev/null
  fi
done < <(find "$BUNDLE" -type f -name '*.so*' -print0)
find "$BUNDLE" -type f -name '*.so*' -perm /111 -exec chmod a-x {} +
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
  "$PKG/usr/share/man/man1" "$PKG/usr/share/lintian/overrides" \
  "$PKG/usr/share/doc/interview-kiosk/examples" \
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
install -m 0644 "$DEB_SRC/interview-backend.service" "$DEB_SRC/interview-backend@.service" \
  "$PKG/lib/systemd/system/"
# For a central server's several processes: nginx in front (docs/deployment.md).
install -m 0644 "$ROOT/packaging/nginx/interview-kiosk.conf" \
  "$PKG/usr/share/doc/interview-kiosk/examples/nginx.conf"
install -m 0644 "$ROOT/docs/deployment.md" "$PKG/usr/share/doc/interview-kiosk/"
# The copyright file, with the Python packages this bundle holds and their licences; the
# changelog (a native package's is changelog.gz) and the manual pages, compressed as
# dh_compress does (gzip -9n: no name or time stamp, so the same input gives the same bytes).
"$VENV/bin/python" "$ROOT/packaging/render-copyright.py" "$DEB_SRC/copyright" "$BUNDLE" \
  "$WORK/pyinstaller/interview-kiosk" >"$PKG/usr/share/doc/interview-kiosk/copyright"
gzip -9n <"$DEB_SRC/changelog" >"$PKG/usr/share/doc/interview-kiosk/changelog.gz"
for command in interview-kiosk interview-backend; do
  gzip -9n <"$DEB_SRC/$command.1" >"$PKG/usr/share/man/man1/$command.1.gz"
done
install -m 0644 "$DEB_SRC/lintian-overrides" "$PKG/usr/share/lintian/overrides/interview-kiosk"

# Conffiles (DEBIAN/conffiles): dpkg keeps an administrator's edits across upgrades.
install -m 0644 "$ROOT/resources/kiosk.toml" "$PKG/etc/interview-kiosk/kiosk.toml"
# May hold the database password: readable by root only (systemd reads it as root).
install -m 0600 "$DEB_SRC/backend.env" "$PKG/etc/interview-kiosk/backend.env"

install -m 0644 "$DEB_SRC/conffiles" "$PKG/DEBIAN/conffiles"
install -m 0755 "$DEB_SRC/postinst" "$DEB_SRC/prerm" "$DEB_SRC/postrm" "$PKG/DEBIAN/"
# md5sums of every file but the conffiles (dpkg records those itself), as dh_md5sums writes it.
(
  cd "$PKG"
  find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
    | grep -vxF -f <(sed 's|^/||' "$DEB_SRC/conffiles") | xargs -d '\n' md5sum
) >"$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/md5sums"
installed_kb=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
# Depends, Recommends and Suggests on one line each, as dpkg-gencontrol writes them: folded
# fields in a binary package's control file are for Description only (lintian: multiline-field).
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$installed_kb/" -e "s/@ARCH@/$ARCH/" \
  "$DEB_SRC/control" | awk '
    /^[^ ]/ { if (field != "") print field; field = $0; fold = /^(Depends|Recommends|Suggests):/; next }
    fold { sub(/^ +/, " "); field = field $0; next }
    { print field; field = $0 }
    END { if (field != "") print field }
  ' >"$PKG/DEBIAN/control"

# xz: about 25% smaller than zstd for this bundle, which keeps the .deb within its budget.
rm -f "$DEB"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "   $(du -m "$DEB" | cut -f1) MiB; done in $((SECONDS - started)) s"
