"""The "Nhập dữ liệu / Import" pages: upload, preview (dry run), confirm, history, undo.

Uploads are kept under ``instance/uploads/`` with a random name the server chooses
(the user's file name is only shown, never used as a path) until the user confirms.
Pages are Vietnamese, English with ``?lang=en``; every text is escaped by Jinja.

Only editors (and admins) may open these pages (:func:`mapapp.auth.require_role`; the
same rule is enforced before every request by :mod:`mapapp.security`), every form
carries the session's CSRF token, and each import and undo records the logged-in
username as "who".
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from mapapp.core import i18n, parsing
from mapapp.ingest import columns, indicator_import, templates, transaction, value_writes
from mapapp.ingest.undo import undo_import
from mapapp.present.precompute import after_write
from mapapp.store.db import get_engine
from mapapp.web import auth

bp = Blueprint("imports", __name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_MAX_AGE_S = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
KINDS = {
    "indicators": (".xlsx", ".xls", ".csv"),
    "projects": (".xlsx", ".xls", ".csv"),
    "boundaries": (".geojson", ".json", ".zip", ".gpkg", ".kml"),
}



@bp.record_once
def _configure(state) -> None:
    """Limit upload size unless the app already chose a limit."""
    state.app.config.setdefault("MAX_CONTENT_LENGTH", MAX_UPLOAD_BYTES)
    if state.app.config.get("MAX_CONTENT_LENGTH") is None:
        state.app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES


def _lang() -> str:
    # Query string only: reading the form of an oversized upload would fail again.
    return "en" if request.args.get("lang") == "en" else "vi"


def _strings(lang: str) -> dict[str, str]:
    return i18n.section("import.", lang)


def _render(template: str, status: int = 200, **context):
    lang = _lang()
    other = "vi" if lang == "en" else "en"
    return render_template(template, t=_strings(lang), lang=lang, other_lang=other, user=auth.current_user(),
                           **context), status


def _who() -> str:
    """The logged-in username: what the import history records as "who"."""
    return auth.username_or_none() or f"web {request.remote_addr or ''}".strip()


def _options(**kwargs) -> transaction.Options:
    return transaction.options_from_config(current_app.config, who=_who(), **kwargs)


@bp.after_request
def _no_store(response):
    """Import pages show who imported what: never kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


# --- uploads --------------------------------------------------------------------------------

def _upload_dir() -> Path:
    """``UPLOAD_DIR``, else ``uploads/`` beside the cache folder (``instance/uploads`` by default)."""
    configured = current_app.config.get("UPLOAD_DIR")
    cache = current_app.config.get("CACHE_DIR") or os.path.join(current_app.instance_path, "cache")
    path = Path(configured) if configured else Path(cache).parent / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store_upload(kind: str) -> tuple[str, str] | str:
    """Save the uploaded file under a random name; return ``(token, filename)`` or an error key."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return "no_file"
    filename = transaction.safe_filename(upload.filename)
    ext = os.path.splitext(filename)[1].lower()
    if ext not in KINDS[kind]:
        return "bad_type"
    _clean_old_uploads()
    token = secrets.token_hex(16)
    folder = _upload_dir()
    upload.save(folder / f"{token}.bin")
    (folder / f"{token}.json").write_text(json.dumps({"filename": filename, "kind": kind}), encoding="utf-8")
    return token, filename


def _load_upload(token: str, kind: str) -> tuple[bytes, str] | None:
    if not _TOKEN.match(token or ""):
        return None
    folder = _upload_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("kind") != kind:
        return None
    return data, str(meta.get("filename") or "upload")


def _drop_upload(token: str) -> None:
    if _TOKEN.match(token or ""):
        for suffix in (".bin", ".json"):
            (_upload_dir() / f"{token}{suffix}").unlink(missing_ok=True)


def _clean_old_uploads() -> None:
    limit = time.time() - UPLOAD_MAX_AGE_S
    for path in _upload_dir().glob("*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


def _upload_or_token(kind: str):
    """The file of this request: a new upload, or the one a previous preview stored."""
    token = request.form.get("token", "")
    if token:
        loaded = _load_upload(token, kind)
        return (token, *loaded) if loaded else "expired"
    stored = _store_upload(kind)
    if isinstance(stored, str):
        return stored
    token, filename = stored
    data, _ = _load_upload(token, kind)
    return token, data, filename


def _upload_error(key: str, kind: str):
    t = _strings(_lang())
    upload = request.files.get("file")
    ext = os.path.splitext(upload.filename or "")[1] if upload is not None else ""
    message = t[key].format(ext=ext or "?", allowed=", ".join(KINDS[kind]))
    return _index_page(error=message, status=400)


# --- pages ----------------------------------------------------------------------------------

@bp.get("/import")
@auth.require_role("editor")
def index():
    """Upload forms, template download and the import history."""
    return _index_page()


def _index_page(error: str | None = None, notice: str | None = None, status: int = 200):
    with get_engine().connect() as conn:
        history = transaction.list_imports(conn)
    cfg = current_app.config
    return _render("import.html", status, history=history, error=error, notice=notice,
                   groups=sorted(templates.TEMPLATE_GROUPS), years=list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1)),
                   default_year=cfg.get("DEFAULT_YEAR"))


@bp.post("/import/indicators")
@auth.require_role("editor")
def indicators_preview():
    """Parse the upload, validate it and show the dry run (nothing is written)."""
    got = _upload_or_token("indicators")
    if isinstance(got, str):
        return _upload_error(got, "indicators")
    token, data, filename = got
    options = _indicator_options()
    parsed, changes = indicator_import.read_and_plan(get_engine(), data, filename, options)
    token = _keep_if_usable(token, parsed, bool(parsed.tables))
    with get_engine().connect() as conn:
        from mapapp.store.catalogue import load_catalogue
        catalogue = load_catalogue(conn)
    return _render("import_preview.html", kind="indicators", token=token, parsed=parsed, changes=changes,
                   counts=value_writes.summarise(changes), options=options, catalogue=catalogue,
                   roles=columns.valid_roles(catalogue), form=_echo_form())


def _indicator_options() -> transaction.Options:
    year_text = (request.form.get("year") or "").strip()
    year = int(year_text) if parsing.is_whole(year_text) and len(year_text) <= 4 else None
    columns = {k[4:]: v for k, v in request.form.items() if k.startswith("col_") and v}
    return _options(year=year, source=(request.form.get("source") or "").strip()[:500], columns=columns)


def _echo_form() -> dict:
    keep = ("year", "source", "valid_from", "valid_to", "crs", "encoding", "accept_moved")
    return {k: request.form.get(k, "") for k in keep}


@bp.post("/import/indicators/confirm")
@auth.require_role("editor")
def indicators_confirm():
    """Apply a previewed indicator import (one transaction), then show its record."""
    options = _indicator_options()
    return _confirm("indicators", lambda data, name: indicator_import.read_and_plan(get_engine(), data, name, options)[0],
                    lambda parsed: indicator_import.apply_indicator_import(get_engine(), parsed, options),
                    indicators_preview)


def _confirm(kind: str, read, apply, preview):
    """Re-read a previewed upload and apply it; if it is refused, show the preview again."""
    token = request.form.get("token", "")
    loaded = _load_upload(token, kind)
    if loaded is None:
        return _index_page(error=_strings(_lang())["expired"], status=400)
    try:
        import_id = apply(read(*loaded))
    except transaction.ImportBusy:
        return _index_page(error=_strings(_lang())["busy"], status=409)
    except transaction.ImportRefused:
        return preview()
    after_write(current_app._get_current_object())
    _drop_upload(token)
    return redirect(url_for("imports.detail", import_id=import_id, lang=_lang(), done=1))


@bp.post("/import/projects")
@auth.require_role("editor")
def projects_preview():
    """Parse a project list and show what would be imported."""
    from mapapp.ingest import project_import

    options = _source_options()
    return _preview("projects", lambda data, name: project_import.read_projects_file(get_engine(), data, name, options),
                    options)


def _source_options() -> transaction.Options:
    """Options of a project or boundary import: just the source document."""
    return _options(source=(request.form.get("source") or "").strip()[:500])


def _preview(kind: str, read, options: transaction.Options):
    """Read the upload (or the previewed one named by its token) and show what would be imported."""
    got = _upload_or_token(kind)
    if isinstance(got, str):
        return _upload_error(got, kind)
    token, data, filename = got
    parsed = read(data, filename)
    token = _keep_if_usable(token, parsed, bool(getattr(parsed, "report", {}).get("moved")))
    return _render("import_preview.html", kind=kind, token=token, parsed=parsed, options=options, form=_echo_form())


def _keep_if_usable(token: str, parsed, fixable: bool) -> str:
    """Delete a refused upload at once (``''``); keep one that can be confirmed or fixed on the preview."""
    if parsed.errors and not fixable:
        _drop_upload(token)
        return ""
    return token


@bp.post("/import/projects/confirm")
@auth.require_role("editor")
def projects_confirm():
    """Apply a previewed project import."""
    from mapapp.ingest import project_import

    options = _source_options()
    return _confirm("projects", lambda data, name: project_import.read_projects_file(get_engine(), data, name, options),
                    lambda parsed: project_import.apply_projects(get_engine(), parsed, options), projects_preview)


def _boundary_request():
    from mapapp.ingest import boundary_files

    form = request.form
    return boundary_files.BoundaryRequest(
        valid_from=(form.get("valid_from") or "").strip(), valid_to=(form.get("valid_to") or "").strip(),
        crs=(form.get("crs") or "").strip() or None, encoding=(form.get("encoding") or "").strip() or None,
        accept_moved=form.get("accept_moved") == "1")


@bp.post("/import/boundaries")
@auth.require_role("editor")
def boundaries_preview():
    """Read a boundary file and show decoded names, checks and the coverage report."""
    from mapapp.ingest import boundary_import

    options = _source_options()
    return _preview(
        "boundaries",
        lambda data, name: boundary_import.read_boundary_file(get_engine(), data, name, _boundary_request(), options),
        options)


@bp.post("/import/boundaries/confirm")
@auth.require_role("editor")
def boundaries_confirm():
    """Apply a previewed boundary import."""
    from mapapp.ingest import boundary_import

    options = _source_options()
    return _confirm(
        "boundaries",
        lambda data, name: boundary_import.read_boundary_file(get_engine(), data, name, _boundary_request(), options),
        lambda parsed: boundary_import.apply_boundaries(get_engine(), parsed, options), boundaries_preview)


@bp.get("/import/<int(max=2147483647):import_id>")
@auth.require_role("editor")
def detail(import_id: int):
    """One import: who, when, file, checksum, source, counts, warnings and value changes."""
    with get_engine().connect() as conn:
        item = transaction.get_import(conn, import_id)
    if item is None:
        abort(404)
    notice = _strings(_lang())["done"].format(id=import_id) if request.args.get("done") else None
    return _render("import_detail.html", item=item, notice=notice)


@bp.post("/import/<int(max=2147483647):import_id>/undo")
@auth.require_role("editor")
def undo(import_id: int):
    """Undo an import (one transaction) and go back to the history."""
    try:
        undo_import(get_engine(), import_id, _who())
    except value_writes.UndoRefused as error:
        return _index_page(error=str(error), status=409)
    after_write(current_app._get_current_object())
    return _index_page(notice=_strings(_lang())["undo_done"].format(id=import_id))


@bp.get("/import/template.xlsx")
@auth.require_role("editor")
def template():
    """An annex template of an indicator group, pre-filled with the units valid in the year."""
    from mapapp.geo.units import load_units

    group = request.args.get("group", "poverty")
    year_text = request.args.get("year", str(current_app.config.get("DEFAULT_YEAR", 2021)))
    cfg = current_app.config
    if group not in templates.TEMPLATE_GROUPS or not parsing.is_whole(year_text) or not (
            cfg["FIRST_YEAR"] <= int(year_text) <= cfg["LAST_YEAR"]):
        return {"error": f"group must be one of {sorted(templates.TEMPLATE_GROUPS)}, year "
                         f"{cfg['FIRST_YEAR']}-{cfg['LAST_YEAR']}"}, 400
    with get_engine().connect() as conn:
        data = templates.indicator_template(load_units(conn), group, int(year_text))
    import io
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"mau-{group}-{year_text}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """Uploads above ``MAX_CONTENT_LENGTH`` get a page saying so (413)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or MAX_UPLOAD_BYTES
    message = _strings(_lang())["too_large"].format(mb=round(limit / 1024 / 1024, 1))
    if request.path.startswith("/import") and auth.has_role(auth.current_user(), "editor"):
        return _index_page(error=message, status=413)
    return {"error": message}, 413
