"""Files written so that no reader, and no other writer, ever sees half of one."""
from __future__ import annotations

import secrets
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: into a temporary file of its own beside it, then renamed.

    Two threads or processes may write the same derived file at once (a page's label points
    and its projects' anchors are one computation): each writes its own temporary file, so
    neither renames the other's away. On Windows a rename over a file another process is
    reading can fail; the file is then already there, with the same content, and is kept.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(data)
    try:
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        if not path.is_file():
            raise
