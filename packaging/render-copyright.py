"""Write the package's copyright file (DEP-5) for the bundle just built: what build-package.sh runs.

    python packaging/render-copyright.py TEMPLATE BUNDLE PYINSTALLER_WORKDIR > copyright

TEMPLATE is packaging/deb/copyright. Its @PYTHON_PACKAGES@ line becomes the Python
distributions whose files PyInstaller put in the bundle (its PYZ and COLLECT tables of
contents), each with the licence its metadata declares, so the list follows the dependencies.
Fails when a distribution declares no licence, or when a shared library at the top of the
bundle has no paragraph of its own in the template (a new native library needs its licence
written down).
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from pathlib import Path

PLACEHOLDER = "@PYTHON_PACKAGES@"
OWN_DISTRIBUTION = "interview-kiosk"
BUNDLE_PREFIX = "opt/interview-kiosk"


def _toc_sources(toc: object) -> Iterator[str]:
    """The source paths in a PyInstaller TOC file: (name, source, kind) tuples, nested."""
    if isinstance(toc, (list, tuple)):
        if len(toc) == 3 and all(isinstance(part, str) for part in toc):
            yield toc[1]
        else:
            for item in toc:
                yield from _toc_sources(item)


def bundled_distributions(workdir: Path) -> list[importlib.metadata.Distribution]:
    owners = {}
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or []:
            owners[Path(distribution.locate_file(file)).resolve()] = distribution
    found = {}
    for toc in ("PYZ-00.toc", "COLLECT-00.toc"):
        for source in _toc_sources(ast.literal_eval((workdir / toc).read_text())):
            distribution = owners.get(Path(source).resolve())
            if distribution is not None and distribution.metadata["Name"] != OWN_DISTRIBUTION:
                found[distribution.metadata["Name"].lower()] = distribution
    return [found[name] for name in sorted(found)]


def declared_licence(distribution: importlib.metadata.Distribution) -> str:
    metadata = distribution.metadata
    if metadata.get("License-Expression"):
        return metadata["License-Expression"]
    # Older metadata: a free-text field, sometimes the whole licence text; a short one is a name.
    text = " ".join((metadata.get("License") or "").split())
    if text and len(text) <= 160:
        return text
    classifiers = [
        c.split("::")[-1].strip()
        for c in metadata.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    if classifiers:
        return " / ".join(classifiers)
    raise SystemExit(f"render-copyright: {metadata['Name']} declares no licence")


def file_patterns(template: str) -> list[list[str]]:
    """Each Files paragraph's patterns (the field may continue on indented lines)."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", template):
        match = re.search(r"^Files:(.*(?:\n .*)*)", paragraph, re.M)
        if match:
            paragraphs.append(match[1].split())
    return paragraphs


def uncovered_libraries(template: str, bundle: Path) -> list[str]:
    generic = (["*"], [f"{BUNDLE_PREFIX}/*"])
    patterns = [
        p for paragraph in file_patterns(template) if paragraph not in generic for p in paragraph
    ]
    uncovered = []
    for library in sorted((bundle / "_internal").glob("lib*.so*")):
        path = f"{BUNDLE_PREFIX}/_internal/{library.name}"
        if not any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            uncovered.append(path)
    return uncovered


def main() -> None:
    template_path, bundle, workdir = (Path(arg) for arg in sys.argv[1:4])
    template = template_path.read_text()
    uncovered = uncovered_libraries(template, bundle)
    if uncovered:
        raise SystemExit(
            f"render-copyright: no paragraph in {template_path} for {', '.join(uncovered)}"
        )
    lines = [
        f" {d.metadata['Name']} {d.version}: {declared_licence(d)}"
        for d in bundled_distributions(workdir)
    ]
    assert template.count(PLACEHOLDER) == 1, f"{template_path}: one {PLACEHOLDER} line"
    sys.stdout.write(template.replace(PLACEHOLDER, "\n".join(lines)))


if __name__ == "__main__":
    main()
