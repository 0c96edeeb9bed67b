"""The console's files, checked without a browser: everything the page loads ships in
``api/static`` and is referenced relatively (no CDN, no other origin), every ES module
import resolves to a file, and the vendored layout library is the version
``console/package-lock.json`` pins, with its license next to it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "static"
CONSOLE = ROOT / "console"
SCRIPTS = sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.parts)
IMPORT = re.compile(r"""^\s*(?:import|export)\s[^;]*?\bfrom\s+["']([^"']+)["']""", re.M | re.S)
#: An absolute URL anywhere in our own code would be a request to another origin. The SVG
#: namespace is an identifier, not something a browser fetches.
URL = re.compile(r"""["'`](?:https?:)?//(?!www\.w3\.org/2000/svg)""")


def test_index_references_only_local_files() -> None:
    html = (STATIC / "index.html").read_text()
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert "static/console.js" in refs and "static/console.css" in refs
    for ref in refs:
        assert not re.match(r"^(?:[a-z]+:)?//", ref), f"external reference {ref}"
        if ref.startswith("static/"):
            assert (STATIC / ref.removeprefix("static/")).is_file(), ref
    assert "connect-src 'self'" in html  # the page's CSP forbids other origins


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_module_imports_resolve(script: Path) -> None:
    text = script.read_text()
    assert not URL.search(text), f"{script.name} names an absolute URL"
    for target in IMPORT.findall(text):
        assert target.startswith("."), f"{script.name} imports a bare specifier {target!r}"
        assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"


def test_css_loads_nothing_external() -> None:
    css = (STATIC / "console.css").read_text()
    assert "@import" not in css
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css)


def test_vendored_dagre_matches_the_lock_file() -> None:
    lock = json.loads((CONSOLE / "package-lock.json").read_text())
    package = json.loads((CONSOLE / "package.json").read_text())
    pinned = package["dependencies"]["@dagrejs/dagre"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin an exact version"
    locked = lock["packages"]["node_modules/@dagrejs/dagre"]["version"]
    graphlib = lock["packages"]["node_modules/@dagrejs/graphlib"]["version"]
    assert locked == pinned
    bundle = (STATIC / "vendor" / "dagre.js").read_text()
    header = bundle.splitlines()[0]
    assert f"@dagrejs/dagre {locked}" in header
    assert f"@dagrejs/graphlib {graphlib}" in header
    assert "sourceMappingURL" not in bundle
    assert re.search(r"export\s*\{[^}]*\bas default\b", bundle), "an ES module with a default"
    license_text = (STATIC / "vendor" / "dagre.LICENSE.txt").read_text()
    assert "Permission is hereby granted" in license_text
    assert f"@dagrejs/dagre {locked}" in license_text


def test_build_script_and_readme_exist() -> None:
    build = (CONSOLE / "build.sh").read_text()
    assert "npm ci" in build
    assert "api/static/vendor" in (CONSOLE / "README.md").read_text()
