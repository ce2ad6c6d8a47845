"""One file for a page's module graph: the ES modules joined, each in its own function scope.

A first visit otherwise asks for every module (16 for the map page); browsers open 6
connections to a host, so that takes several round trips. :func:`bundle` joins an entry
and everything it imports into one module, in dependency order, with no third-party tool:

* ``import { a, b as c } from "./x.js"`` becomes ``const { a, b: c } = <x>;`` and
  ``import * as x from "./x.js"`` becomes ``const x = <x>;`` (``<x>`` is the object the
  wrapped module ``x.js`` returns, one getter per export);
* ``export function f`` / ``export const c`` / ``export class K`` lose their ``export`` and
  are returned.

Named imports are bound once, when the importing module runs: that equals ES semantics
only when no export is reassigned later and the graph has no circle. So any module using
a form this does not handle (``export let``/``var``/``default``/``{...}``, a default import,
a dynamic ``import()``, ``import.meta``) or a circle gives ``None``, and the page loads
the modules one by one as they are (preloaded): never a wrong bundle.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import abort, current_app, request

from mapapp.web.versioned import YEAR_S, bp, imports_of, resolve, static_url, static_version

_IMPORT_STATEMENT = re.compile(r"""^import\s+(?P<what>[^;"']*?)\s*(?:from\s*)?["'](?P<spec>\.{1,2}/[^"']+)["']\s*;?""",
                               re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\s*\*?|const|class)\s+([A-Za-z_$][\w$]*)", re.M)
_UNSUPPORTED = re.compile(r"^export\s+(?:let|var|default|\{|\*)|\bimport\s*\(|\bimport\.meta\b", re.M)
_NAMED = re.compile(r"^\{(?P<names>[^}]*)\}$", re.S)
_NAMESPACE = re.compile(r"^\*\s*as\s+(?P<name>[A-Za-z_$][\w$]*)$")


@bp.get("/<version>/bundle/<path:entry>")
def bundle_file(version: str, entry: str):
    """The bundle of ``entry``: immutable under the current version, revalidated under another."""
    text = bundle(current_app.static_folder, static_version(), entry) if entry.endswith(".js") else None
    if text is None:
        abort(404)
    response = current_app.response_class(text, mimetype="text/javascript")
    if version == static_version():
        response.cache_control.public = True
        response.cache_control.max_age = YEAR_S
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    response.set_etag(f"{static_version()}-{entry}")
    return response.make_conditional(request)


def entry_url(entry: str) -> str | None:
    """The URL of ``entry``'s bundle, or ``None`` when the modules must load one by one (or bundling is off)."""
    if not current_app.config.get("BUNDLE_MODULES", True):
        return None
    if bundle(current_app.static_folder, static_version(), entry) is None:
        return None
    return static_url("bundle/" + entry)


@lru_cache(maxsize=16)
def bundle(folder: str, version: str, entry: str) -> str | None:
    """The entry module and its imports as one module's source, or ``None`` when it cannot be joined safely.

    Parameters
    ----------
    folder : the static folder
    version : its digest (part of the cache key only)
    entry : the entry's path in ``folder`` (``"map/main.js"``)
    """
    order = _dependency_order(folder, entry)
    if order is None:
        return None
    parts = [f"// {entry} and its imports, joined by mapapp/web/bundle.py (static version {version})."]
    for name in order:
        wrapped = _wrap(name, (Path(folder) / name).read_text(encoding="utf-8"))
        if wrapped is None:
            return None
        parts.append(wrapped)
    return "\n".join(parts) + "\n"


def _dependency_order(folder: str, entry: str) -> list[str] | None:
    """Modules with their imports first (depth first); ``None`` on a circle or a missing file."""
    order: list[str] = []
    visiting: set[str] = set()

    root = Path(folder).resolve()

    def visit(name: str) -> bool:
        if name in order:
            return True
        path = (root / name).resolve()
        if name in visiting or not path.is_file() or not path.is_relative_to(root):
            return False  # a circle, a missing file, or one outside the static folder
        visiting.add(name)
        for spec in imports_of(path.read_text(encoding="utf-8")):
            if not visit(resolve(name, spec)):
                return False
        visiting.discard(name)
        order.append(name)
        return True

    return order if visit(entry) else None


def variable(name: str) -> str:
    """The bundle's variable holding a module's exports (``map/state.js`` → ``__mapapp_map_state_js``)."""
    return "__mapapp_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _wrap(name: str, source: str) -> str | None:
    """One module as ``const <var> = (function () { ...; return {getters}; })();``, or ``None``."""
    if _UNSUPPORTED.search(source):
        return None
    failed = []

    def rewrite(match: re.Match) -> str:
        target = variable(resolve(name, match.group("spec")))
        what = match.group("what").strip()
        if not what:
            return ""  # a side-effect import: that module already ran
        named, namespace = _NAMED.match(what), _NAMESPACE.match(what)
        if namespace:
            return f"const {namespace.group('name')} = {target};"
        if named:
            names = [n.strip() for n in named.group("names").split(",") if n.strip()]
            return "const { " + ", ".join(re.sub(r"\s+as\s+", ": ", n) for n in names) + f" }} = {target};"
        failed.append(what)
        return ""

    body = _IMPORT_STATEMENT.sub(rewrite, source)
    if failed:
        return None
    exported = _EXPORT.findall(body)
    body = re.sub(r"^export\s+", "", body, flags=re.M)
    getters = ", ".join(f"get {n}() {{ return {n}; }}" for n in exported)
    return (f"// --- {name}\nconst {variable(name)} = (function () {{\n{body}\n"
            f"return Object.freeze({{ {getters} }});\n}})();")
