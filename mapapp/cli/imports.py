"""Command-line data import: ``flask --app mapapp import-indicators FILE`` and friends.

Every command prints its problems one per line (errors and warnings on stderr) and
exits with a non-zero code on any error; nothing is written then.
"""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mapapp.ingest import indicator_import, numbers, templates, transaction, undo, value_writes
from mapapp.present.precompute import precompute

EXIT_ERROR = 1


def _who(value: str | None) -> str:
    if value:
        return value
    try:
        return f"{getpass.getuser()} (CLI)"
    except (KeyError, OSError):
        return "CLI"


def _progress(stage: str, done: int, total: int) -> None:
    labels = {"write": "đang ghi / writing", "read": "đang đọc / reading", "check": "đang kiểm tra / checking"}
    click.echo(f"  {labels.get(stage, stage)}: {done}/{total}", err=True)
    sys.stderr.flush()


def _refresh_answers() -> None:
    """The default indicator's values of every year, stored for the server (the rest at its next start)."""
    precompute(current_app._get_current_object(), every_indicator=False)


def _print_problems(problems) -> bool:
    """Print problems one per line; return True when any is an error."""
    for problem in problems:
        click.echo(str(problem), err=True)
    return any(p.level == "error" for p in problems)


def _fail(message: str | None = None) -> None:
    if message:
        click.echo(message, err=True)
    sys.exit(EXIT_ERROR)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        _fail(f"LỖI/ERROR: không đọc được tệp / cannot read {path}: {error}")
    return b""


def _parse_columns(values: tuple[str, ...]) -> dict[str, str]:
    columns = {}
    for item in values:
        key, sep, role = item.partition("=")
        if not sep or not key.strip() or not role.strip():
            _fail(f"LỖI/ERROR: --column cần dạng CỘT=VAI TRÒ, vd. D=poverty_rate:numerator / "
                  f"--column needs LETTER=ROLE, got {item!r}")
        columns[key.strip()] = role.strip()
    return columns


@click.command("import-indicators")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=None, help="Năm của số liệu / year of the figures (wide annexes).")
@click.option("--source", default="", help='Văn bản nguồn / source document, e.g. "QĐ 125/QĐ-UBND ngày 10/01/2022".')
@click.option("--column", "columns", multiple=True, metavar="LETTER=ROLE",
              help="Vai trò của một cột / role of a column, e.g. D=poverty_rate:numerator (repeatable).")
@click.option("--who", default=None, help="Người nhập / who imports (default: the OS user).")
@click.option("--dry-run", is_flag=True, help="Chỉ xem trước, không ghi / show what would change, write nothing.")
@with_appcontext
def import_indicators_command(file: Path, year, source, columns, who, dry_run) -> None:
    """Nhập số liệu chỉ tiêu / import indicator values from .xlsx, .xls or .csv."""
    from mapapp.store.db import get_engine

    options = transaction.options_from_config(current_app.config, year=year, source=source, who=_who(who),
                                            columns=_parse_columns(columns))
    engine = get_engine()
    parsed, changes = indicator_import.read_and_plan(engine, _read(file), file.name, options, progress=_progress)
    _print_tables(parsed)
    if _print_problems(parsed.problems):
        _fail(f"{len(parsed.errors)} lỗi, không ghi gì / {len(parsed.errors)} errors, nothing written")
    _print_changes(changes, every=dry_run)
    if dry_run:
        click.echo("(chạy thử: không ghi gì / dry run: nothing written)")
        return
    import_id = indicator_import.apply_indicator_import(engine, parsed, options, progress=_progress)
    _refresh_answers()
    click.echo(f"đã nhập / imported: lần nhập #{import_id} (hoàn tác / undo: flask --app mapapp undo-import "
               f"{import_id})")


def _print_tables(parsed) -> None:
    for table in parsed.tables:
        cols = ", ".join(f"{c['letter']}={c['role']}" for c in table["columns"] if c["role"])
        click.echo(f"bảng / table '{table['sheet']}' ({table['format']}, năm/year {table.get('year', '-')}, "
                   f"{table['rows']} dòng/rows): {cols}")


def _print_changes(changes, every: bool) -> None:
    """Print each new and changed value (all of them in a dry run, else the first 50)."""
    counts = value_writes.summarise(changes)
    shown = [c for c in changes if c.kind != "unchanged"]
    if not every and len(shown) > 50:
        click.echo(f"  ({len(shown) - 50} thay đổi nữa không in; xem bằng --dry-run / "
                   f"{len(shown) - 50} more changes not listed: see them with --dry-run)")
        shown = shown[:50]
    for change in shown:
        e = change.entry
        if change.kind == "new":
            click.echo(f"  mới / new      {e.unit.name} {e.year} {e.indicator}: {_num(e.value)}")
        elif change.kind == "changed":
            tag = " (minh họa/illustrative)" if change.old["illustrative"] else ""
            click.echo(f"  đổi / changed  {e.unit.name} {e.year} {e.indicator}: {_num(change.old['value'])}{tag}"
                       f" → {_num(e.value)}")
    click.echo(f"mới/new {counts['new']}, đổi/changed {counts['changed']}, giữ nguyên/unchanged {counts['unchanged']}")


def _num(value) -> str:
    return "-" if value is None else numbers.nice(value, 2)


@click.command("import-projects")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="", help="Văn bản nguồn / source document (when rows name none).")
@click.option("--who", default=None)
@click.option("--dry-run", is_flag=True)
@with_appcontext
def import_projects_command(file: Path, source, who, dry_run) -> None:
    """Nhập danh sách dự án / import NGO and donor projects from .xlsx or .csv."""
    from mapapp.ingest import project_import
    from mapapp.store.db import get_engine

    options = transaction.options_from_config(current_app.config, source=source, who=_who(who))
    engine = get_engine()
    parsed = project_import.read_projects_file(engine, _read(file), file.name, options)
    if _print_problems(parsed.problems):
        _fail(f"{len(parsed.errors)} lỗi, không ghi gì / {len(parsed.errors)} errors, nothing written")
    for project in parsed.projects:
        click.echo(f"  {project.name} — {project.donor} — {', '.join(n for _, n, _v in project.units)}")
    if dry_run:
        click.echo(f"{len(parsed.projects)} dự án (chạy thử: không ghi gì) / projects (dry run: nothing written)")
        return
    import_id = project_import.apply_projects(engine, parsed, options, progress=_progress)
    _refresh_answers()
    click.echo(f"đã nhập / imported {len(parsed.projects)} projects: lần nhập #{import_id}")


@click.command("import-boundaries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--valid-from", required=True, help="Hiệu lực từ ngày / valid from (YYYY-MM-DD).")
@click.option("--valid-to", default="", help="Hiệu lực đến ngày / valid to (YYYY-MM-DD, empty = open).")
@click.option("--crs", default=None, help="Hệ tọa độ khi tệp không ghi / CRS when the file has none, e.g. EPSG:9212.")
@click.option("--encoding", default=None, help="Bảng mã thuộc tính / attribute encoding: tcvn3, vni, utf-8, cp1258.")
@click.option("--source", default="", help="Nguồn ranh giới / where the boundaries come from.")
@click.option("--accept-moved", is_flag=True,
              help="Xác nhận xã đã dời xa ranh giới trước (IoU < 0,5) / confirm units moved far from their previous "
                   "boundaries (IoU < 0.5).")
@click.option("--who", default=None)
@click.option("--dry-run", is_flag=True)
@with_appcontext
def import_boundaries_command(file: Path, valid_from, valid_to, crs, encoding, source, accept_moved, who,
                              dry_run) -> None:
    """Nhập ranh giới xã / import commune boundaries (GeoJSON, zipped Shapefile, GeoPackage, KML)."""
    from mapapp.ingest import boundary_files, boundary_import
    from mapapp.store.db import get_engine

    options = transaction.options_from_config(current_app.config, source=source, who=_who(who))
    request = boundary_files.BoundaryRequest(valid_from=valid_from, valid_to=valid_to, crs=crs, encoding=encoding,
                                             accept_moved=accept_moved)
    engine = get_engine()
    parsed = boundary_import.read_boundary_file(engine, _read(file), file.name, request, options,
                                                progress=_progress)
    for line in parsed.report_lines():
        click.echo(line)
    for feature in parsed.features:
        shown = f"{feature.raw_name!r} → {feature.decoded_name}" if feature.raw_name != feature.decoded_name \
            else feature.decoded_name
        click.echo(f"  #{feature.index} {shown} → {feature.unit_name or '?'}")
    if _print_problems(parsed.problems):
        _fail(f"{len(parsed.errors)} lỗi, không ghi gì / {len(parsed.errors)} errors, nothing written")
    if dry_run:
        click.echo("(chạy thử: không ghi gì / dry run: nothing written)")
        return
    import_id = boundary_import.apply_boundaries(engine, parsed, options)
    _refresh_answers()
    click.echo(f"đã nhập / imported boundary version: lần nhập #{import_id}")


@click.command("imports")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def imports_command(limit: int) -> None:
    """Lịch sử nhập dữ liệu / import history."""
    from mapapp.store.db import get_engine

    with get_engine().connect() as conn:
        rows = transaction.list_imports(conn, limit)
    if not rows:
        click.echo("chưa có lần nhập nào / no imports yet")
    for row in rows:
        counts = row["summary"].get("counts", {})
        click.echo(f"#{row['id']} {row['created_at']} {row['kind']} {row['status']} {row['created_by']} "
                   f"{row['filename']} sha256:{row['checksum'][:12]} [{row['source_document']}] "
                   + " ".join(f"{k}={v}" for k, v in counts.items()))


@click.command("undo-import")
@click.argument("import_id", type=int)
@click.option("--who", default=None)
@with_appcontext
def undo_import_command(import_id: int, who) -> None:
    """Hoàn tác một lần nhập / undo an import (restores the previous data exactly)."""
    from mapapp.store.db import get_engine

    try:
        result = undo.undo_import(get_engine(), import_id, _who(who))
    except value_writes.UndoRefused as error:
        _fail(f"LỖI/ERROR: {error}")
        return
    _refresh_answers()
    click.echo(f"đã hoàn tác lần nhập #{import_id} / undone ({result['values_restored']} giá trị/values restored)")


@click.command("import-template")
@click.argument("group", type=click.Choice(sorted(templates.TEMPLATE_GROUPS)))
@click.option("--year", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def import_template_command(group: str, year: int, out: Path) -> None:
    """Tải mẫu phụ lục / write an .xlsx template with the units valid in YEAR."""
    from mapapp.geo.units import load_units
    from mapapp.store.db import get_engine

    with get_engine().connect() as conn:
        data = templates.indicator_template(load_units(conn), group, year)
    out.write_bytes(data)
    click.echo(f"đã ghi / wrote {out}")


def register(app) -> None:
    """Add the import commands to ``app.cli``."""
    for command in (import_indicators_command, import_projects_command, import_boundaries_command,
                    imports_command, undo_import_command, import_template_command):
        app.cli.add_command(command)
