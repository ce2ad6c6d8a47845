"""``flask --app mapapp report`` (the Word report of a view) and ``flask --app mapapp sheets`` (fact sheets)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def _years() -> list[int]:
    cfg = current_app.config
    return list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1))


def _check_data() -> None:
    if current_app.config.get("MISSING_INPUTS"):
        raise click.ClickException("the app has no data yet: missing input files "
                                   + ", ".join(current_app.config["MISSING_INPUTS"]))


@click.command("report")
@click.option("--indicator", required=True, help="Indicator id, e.g. poverty_rate.")
@click.option("--year", required=True, type=int, help="The year of the view.")
@click.option("--compare", type=int, default=None, help="Base year: the change since then (e.g. 2016).")
@click.option("--units-year", type=int, default=None, help="Show the data on a later year's boundaries.")
@click.option("--min", "low", default=None, help="Threshold: communes with a value >= MIN.")
@click.option("--max", "high", default=None, help="Threshold: communes with a value <= MAX.")
@click.option("--method", default=None, help="Classification method (as on the map page).")
@click.option("--k", default=None, help="Number of classes (3-7).")
@click.option("--palette", default=None, help="Palette name.")
@click.option("--lang", default="vi", show_default=True, help="vi or en.")
@click.option("--projects/--no-projects", default=True, show_default=True, help="Show project sites on the map.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output .docx file.")
@with_appcontext
def report_command(indicator, year, compare, units_year, low, high, method, k, palette, lang, projects, out):
    """Write the Word report of a view (the same file as the map page's "Word" link)."""
    from mapapp.present import report
    from mapapp.present.viewstate import BadRequest, parse
    from mapapp.query import read as query
    from mapapp.store.db import connection

    _check_data()
    args = {"indicator": indicator, "year": str(year), "lang": lang, "projects": "1" if projects else "0"}
    args.update({key: str(value) for key, value in (
        ("compare", compare), ("units_year", units_year), ("min", low), ("max", high), ("method", method),
        ("k", k), ("palette", palette)) if value is not None})
    conn = connection()
    try:
        state = parse(args, current_app.config, query.catalogue(conn).keys())
        built = report.build_report(conn, state, link="/?" + state.query_string())
    except (BadRequest, query.NotFound) as error:
        raise click.ClickException(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(built.data)
    if built.illustrative:
        click.echo("note: the report contains ILLUSTRATIVE figures (marked in the document)", err=True)
    click.echo(f"wrote {out}")


@click.command("sheets")
@click.option("--year", required=True, type=int, help="The year: every commune of that year's boundaries.")
@click.option("--lang", default="vi", show_default=True, help="vi or en.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output .pdf file.")
@with_appcontext
def sheets_command(year, lang, out):
    """Write the fact sheets of every commune of a year (cover, contents, one A4 page per commune)."""
    from mapapp.present import sheets
    from mapapp.present.sheets.content import Context, units_of_year
    from mapapp.present.viewstate import LANGS, BadRequest, parse_year
    from mapapp.store.db import connection

    _check_data()
    if lang not in LANGS:
        raise click.UsageError(f"unknown language {lang!r}; use vi or en")
    conn = connection()
    try:
        year = parse_year(str(year), current_app.config)
        count = len(units_of_year(Context(conn, year, lang, _years())))
        with click.progressbar(length=count, label=f"fact sheets {year}", file=sys.stderr,
                               item_show_func=lambda name: name or "") as bar:
            data, _name, drawn = sheets.book_pdf(conn, year, _years(), lang,
                                                 progress=lambda name: bar.update(1, name))
    except BadRequest as error:
        raise click.ClickException(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    click.echo(f"wrote {out} ({len(drawn)} communes, {len(drawn) + 2} pages)")


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(report_command)
    app.cli.add_command(sheets_command)
