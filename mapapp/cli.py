"""Command-line interface: ``flask --app mapapp init-db`` and friends."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .seed import Inputs


def inputs_for(app: Flask) -> Inputs:
    """Where the app reads its bundled sources (from its config)."""
    return Inputs(Path(app.config["SHARED_DIR"]), Path(app.config["GEODATA_DIR"]), Path(app.config["CACHE_DIR"]))


@click.command("init-db")
@click.option("--force", is_flag=True, help="Reload the bundled sources even if they are unchanged.")
@with_appcontext
def init_db_command(force: bool) -> None:
    """Create the database and fill it from ../shared and geodata/ (idempotent)."""
    from .db import get_engine
    from .seed import seed

    inputs = inputs_for(current_app)
    missing = inputs.missing()
    if missing:
        for path in missing:
            click.echo(f"missing input file: {path}", err=True)
        raise click.ClickException(
            "put the shared data folder beside the project (../shared) or set MAPAPP_SHARED_DIR")
    notes = seed(get_engine(), inputs, force=force)
    for note in notes:
        click.echo(f"left out: {note}")
    click.echo(f"database ready: {current_app.config['DATABASE_URL']}")


@click.command("generate-illustrative")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output CSV (default: geodata/illustrative-series.csv).")
@with_appcontext
def generate_illustrative_command(out: Path | None) -> None:
    """Regenerate the ILLUSTRATIVE (invented, seeded) poverty and culture series."""
    from . import illustrative

    inputs = inputs_for(current_app)
    out = out or inputs.geodata_dir / "illustrative-series.csv"
    illustrative.main(["--registry", str(inputs.registry),
                       "--facts", str(inputs.shared_dir / "data" / "commune-facts.csv"), "--out", str(out)])
    click.echo(f"wrote {out} (illustrative figures, not official data)")


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(generate_illustrative_command)
