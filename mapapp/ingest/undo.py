"""Undo any import, whatever its kind: every kind's undo handler is registered before the undo runs."""
from __future__ import annotations

import sqlalchemy as sa

from mapapp.ingest import transaction


def undo_import(engine: sa.Engine, import_id: int, who: str = "") -> dict:
    """Undo import ``import_id`` in one transaction (see :func:`mapapp.ingest.transaction.undo_import`).

    Importing the kinds here registers their handlers (projects, boundaries); they are imported
    lazily because boundary files need geopandas, which the map pages never load.
    """
    from mapapp.ingest import boundary_import, project_import  # noqa: F401 (registers their undo)

    return transaction.undo_import(engine, import_id, who)
