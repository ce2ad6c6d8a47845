"""Command-line interface: ``flask --app mapapp init-db`` and friends."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from mapapp.ingest.seed import Inputs


def inputs_for(app: Flask) -> Inputs:
    """Where the app reads its bundled sources (from its config)."""
    return Inputs(Path(app.config["SHARED_DIR"]), Path(app.config["GEODATA_DIR"]), Path(app.config["CACHE_DIR"]))


@click.command("init-db")
@click.option("--force", is_flag=True, help="Reload the bundled sources even if they are unchanged.")
@with_appcontext
def init_db_command(force: bool) -> None:
    """Create the database and fill it from ../shared and geodata/ (idempotent).

    With an atlas configured (``MAPAPP_ATLAS``), its store gets the atlas alone.
    Each stage and its counts are printed on stderr as it starts.
    """
    from mapapp.present.precompute import precompute
    from mapapp.store.db import get_engine

    def progress(message: str) -> None:
        click.echo(f"init-db: {message}", err=True)

    atlas = current_app.extensions.get("mapapp_atlas")
    if atlas is not None:
        from mapapp.ingest.atlas_seed import seed_atlas

        try:
            notes = seed_atlas(get_engine(), atlas, Path(current_app.config["SHARED_DIR"]),
                               Path(current_app.config["GEODATA_DIR"]), Path(current_app.config["CACHE_DIR"]),
                               force=force, progress=progress)
        except (FileNotFoundError, ValueError) as error:
            raise click.ClickException(str(error)) from None
    else:
        from mapapp.ingest.seed import seed

        inputs = inputs_for(current_app)
        missing = inputs.missing()
        if missing:
            for path in missing:
                click.echo(f"missing input file: {path}", err=True)
            raise click.ClickException(
                "put the shared data folder beside the project (../shared) or set MAPAPP_SHARED_DIR")
        notes = seed(get_engine(), inputs, force=force, progress=progress)
    precompute(current_app._get_current_object(), every_indicator=False)
    for note in notes:
        click.echo(f"left out: {note}")
    click.echo(f"database ready: {current_app.config['DATABASE_URL']}")


@click.command("generate-illustrative")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output CSV (default: geodata/illustrative-series.csv).")
@with_appcontext
def generate_illustrative_command(out: Path | None) -> None:
    """Regenerate the ILLUSTRATIVE (invented, seeded) poverty and culture series."""
    from mapapp.ingest import illustrative

    inputs = inputs_for(current_app)
    out = out or inputs.geodata_dir / "illustrative-series.csv"
    illustrative.main(["--registry", str(inputs.registry),
                       "--facts", str(inputs.shared_dir / "data" / "commune-facts.csv"), "--out", str(out)])
    click.echo(f"wrote {out} (illustrative figures, not official data)")


def _year_file(out: Path, year: int) -> Path:
    """``maps/ngheo.png`` → ``maps/ngheo-2021.png``; a ``{year}`` in the name is replaced instead."""
    if "{year}" in out.name:
        return out.with_name(out.name.replace("{year}", str(year)))
    return out.with_name(f"{out.stem}-{year}{out.suffix}")


@click.command("export-map")
@click.option("--indicator", required=True, help="Indicator id, e.g. poverty_rate.")
@click.option("--year", type=int, default=None, help="One year (one file).")
@click.option("--years", default=None,
              help="Several years: 2016-2024 or 2016,2018,2020 — one file per year (FILE gets the year "
                   "inserted before its extension), or one page with --small-multiples.")
@click.option("--small-multiples", is_flag=True, help="With --years: one page, one map per year, one legend.")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), default=None,
              help="Output format (default: from the extension of --out, else png).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
@click.option("--size", default="A4", show_default=True, help="A4 or A3.")
@click.option("--orientation", default="landscape", show_default=True, help="landscape or portrait.")
@click.option("--dpi", default=300, show_default=True, help="PNG resolution (72-300).")
@click.option("--lang", default="vi", show_default=True, help="vi or en.")
@click.option("--method", default=None, help="Classification method (as on the map page).")
@click.option("--k", default=None, help="Number of classes (3-7).")
@click.option("--palette", default=None, help="Palette name.")
@click.option("--classes", type=click.Choice(["shared", "year"]), default=None,
              help="shared: one scale computed over all years (the default unless the indicator has preset "
                   "bands); year: each year classified on its own.")
@click.option("--breaks", default=None, help="Manual class bounds, increasing, e.g. 10,20,30,40 (five classes).")
@click.option("--projects/--no-projects", default=True, show_default=True, help="Show project sites.")
@click.option("--circles/--no-circles", default=None,
              help="Proportional circles: --no-circles draws a count (population...) as colours; --circles adds "
                   "a rate's count (poor households...) over its colours. Default: circles for counts only.")
@with_appcontext
def export_map_command(indicator, year, years, small_multiples, fmt, out, size, orientation, dpi, lang,
                       method, k, palette, classes, breaks, projects, circles) -> None:
    """Export print-quality maps (PNG/PDF/SVG), the same files as the map page's export links."""
    from mapapp.present import export
    from mapapp.present.viewstate import BadRequest, with_changes
    from mapapp.store.catalogue import load_catalogue
    from mapapp.store.db import connection

    if current_app.config.get("MISSING_INPUTS"):
        raise click.ClickException("the app has no data yet: missing input files "
                                   + ", ".join(current_app.config["MISSING_INPUTS"]))
    if (year is None) == (years is None):
        raise click.UsageError("give exactly one of --year or --years")
    if small_multiples and years is None:
        raise click.UsageError("--small-multiples needs --years")
    fmt = fmt or (out.suffix.lower().lstrip(".") if out.suffix.lower() in (".png", ".pdf", ".svg") else "png")
    args = {"indicator": indicator, "size": size, "orientation": orientation, "dpi": str(dpi), "lang": lang,
            "projects": "1" if projects else "0", **({} if circles is None else {"circles": "1" if circles else "0"})}
    args.update({key: str(value) for key, value in (("method", method), ("k", k), ("palette", palette),
                                                    ("classes", classes), ("breaks", breaks))
                 if value is not None})
    conn = connection()
    ids = load_catalogue(conn).keys()
    try:
        if years is None:
            wanted = export.parse_request({**args, "year": str(year)}, fmt, current_app.config, ids)
            jobs = [(wanted.state, None, out)]
        else:
            wanted = export.parse_request({**args, "years": years}, fmt, current_app.config, ids)
            year_list = wanted.years or (wanted.state.year,)
            if small_multiples:
                jobs = [(wanted.state, year_list, out)]
            else:
                jobs = [(with_changes(wanted.state, year=y), None, _year_file(out, y)) for y in year_list]
        written = []
        with click.progressbar(jobs, label="exporting maps", item_show_func=lambda j: str(j[2]) if j else "",
                               file=sys.stderr) as bar:
            for state, page_years, path in bar:
                rendered = export.render(conn, state, wanted.page, page_years)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(rendered.data)
                written.append(path)
    except BadRequest as error:
        raise click.ClickException(str(error)) from None
    for path in written:
        click.echo(f"wrote {path}")


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(generate_illustrative_command)
    app.cli.add_command(export_map_command)
