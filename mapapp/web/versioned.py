"""Our static files under a versioned prefix, cached for good, and the module graph to preload.

``/static-v/<version>/<path>`` serves ``mapapp/static/<path>``; ``version`` is a digest of
the whole static folder, so a changed file gets a new URL and an unchanged one may be
kept by the browser for a year (``Cache-Control: immutable``): a second visit asks for
none of them. The page scripts are native ES modules whose imports are relative
(``./state.js``, ``../packs.js``): loaded from a versioned URL, they resolve under the
same prefix, so every module of the graph is versioned with no build step.

:func:`module_graph` lists every module an entry imports (read from the files, not
run), so the page can name them all in ``<link rel="modulepreload">`` and the browser
fetches them in parallel instead of one import level after another.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, send_from_directory, url_for
from markupsafe import Markup

bp = Blueprint("versioned", __name__, url_prefix="/static-v")

YEAR_S = 365 * 86400
# Static imports and re-exports ("import x from './a.js'", "import './a.js'", "export * from './a.js'").
_IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+?\s*from\s*)?["'](\.{1,2}/[^"']+)["']""",
                     re.M)
# Comments, skipping string literals (a "//" inside a URL string is not a comment).
_COMMENT = re.compile(r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|/\*.*?\*/|//[^\n]*""", re.S)


@bp.get("/<version>/<path:filename>")
def static_file(version: str, filename: str):
    """A static file; immutable when ``version`` is the current one (an old page gets today's file, revalidated)."""
    current = static_version()
    response = send_from_directory(current_app.static_folder, filename, max_age=YEAR_S if version == current else 0)
    if version == current:
        response.cache_control.public = True
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


def static_version() -> str:
    """The digest of every file of the static folder (12 hex digits)."""
    return _folder_digest(current_app.static_folder)


@bp.app_template_global()
def static_url(filename: str) -> str:
    """The versioned URL of a static file (``/static-v/<version>/<filename>``; also in templates)."""
    return url_for("versioned.static_file", version=static_version(), filename=filename)


@bp.app_template_global()
def inline_style(filename: str) -> Markup:
    """A static stylesheet's text, for a ``<style>`` block of a page (also in templates).

    The map page carries its stylesheet: its first frame paints with no second round trip.
    """
    return Markup(_style_text(current_app.static_folder, static_version(), filename))


@lru_cache(maxsize=16)
def _style_text(folder: str, version: str, filename: str) -> str:
    text = (Path(folder) / filename).read_text(encoding="utf-8")
    if "</" in text:  # it would end the <style> block
        raise ValueError(f"{filename}: '</' cannot be inlined in a <style> block")
    return text


def preload_urls(entry: str) -> list[str]:
    """Versioned URLs of every module ``entry`` imports, directly or not (the entry itself excluded)."""
    return [static_url(name) for name in module_graph(current_app.static_folder, static_version(), entry)]


@lru_cache(maxsize=64)
def _folder_digest(folder: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=64)
def module_graph(folder: str, version: str, entry: str) -> tuple[str, ...]:
    """The modules ``entry`` imports, transitively, as paths relative to ``folder``, in a stable order.

    Parameters
    ----------
    folder : the static folder
    version : its digest (part of the cache key only: a changed folder is read again)
    entry : the entry module's path in ``folder`` (``"map/main.js"``)
    """
    seen: list[str] = []
    pending = [entry]
    while pending:
        name = pending.pop(0)
        path = Path(folder) / name
        if not path.is_file():
            continue
        for target in imports_of(path.read_text(encoding="utf-8")):
            resolved = resolve(name, target)
            if resolved != entry and resolved not in seen and not resolved.startswith(".."):
                seen.append(resolved)
                pending.append(resolved)
    return tuple(seen)


def resolve(importer: str, specifier: str) -> str:
    """The static folder path a relative specifier names (``resolve("map/a.js", "../p.js")`` → ``"p.js"``)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))


def imports_of(source: str) -> list[str]:
    """The relative module specifiers a module's source imports statically (comments ignored)."""
    return _IMPORT.findall(_COMMENT.sub(lambda m: m.group(1) or " ", source))
