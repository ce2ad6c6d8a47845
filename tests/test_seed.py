"""Re-seeding the store from the bundled sources never loses what the data officer imported."""
from __future__ import annotations

from conftest import needs_shared
from import_builders import SOURCE, poverty_annex_xlsx, poverty_rows, units_of, value_rows
from test_import_projects import GOOD, projects_xlsx, stored_projects

from mapapp.cli.commands import inputs_for
from mapapp.ingest.seed import seed
from mapapp.store import db

pytestmark = needs_shared


def _contents(rows):
    """Stored values without their row ids (a re-seed renumbers the bundled rows)."""
    return sorted(row[1:] for row in rows)


def _reseed(app):
    with app.app_context():
        return seed(db.get_engine(), inputs_for(app), force=True)


def test_reseed_keeps_imported_values_and_undo_still_restores(fresh_app, tmp_path):
    runner = fresh_app.test_cli_runner()
    before = _contents(value_rows(fresh_app))
    annex = tmp_path / "pl.xlsx"
    annex.write_bytes(poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021))
    assert runner.invoke(args=["import-indicators", str(annex), "--source", SOURCE]).exit_code == 0
    imported = _contents(value_rows(fresh_app))
    assert imported != before
    _reseed(fresh_app)
    assert _contents(value_rows(fresh_app)) == imported  # imported values survive, nothing duplicated
    result = runner.invoke(args=["undo-import", "1"])
    assert result.exit_code == 0, result.output
    assert _contents(value_rows(fresh_app)) == before


def test_reseed_keeps_imported_projects(fresh_app, tmp_path):
    path = tmp_path / "du-an.xlsx"
    path.write_bytes(projects_xlsx(GOOD))
    result = fresh_app.test_cli_runner().invoke(args=["import-projects", str(path), "--source", SOURCE])
    assert result.exit_code == 0, result.output
    with_import = _contents(stored_projects(fresh_app))
    _reseed(fresh_app)
    assert _contents(stored_projects(fresh_app)) == with_import
