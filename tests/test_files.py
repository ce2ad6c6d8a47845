"""Derived files written by several writers at once (threads of one server, or several servers)."""
from __future__ import annotations

import threading

from mapapp.core.files import write_atomic


def test_writers_of_one_file_at_once_never_fail_nor_leave_half_a_file(tmp_path):
    """A page's label points and its projects' anchors are one computation, asked for at once:
    both write the same cache file. Each writer renames its own temporary file."""
    path = tmp_path / "cache" / "points-x.json.gz"
    data = bytes(range(256)) * 400
    start, errors = threading.Barrier(8), []

    def write_many():
        start.wait()
        for _ in range(40):
            try:
                write_atomic(path, data)
            except OSError as error:  # what a shared temporary name gave: renamed away by the other writer
                errors.append(error)

    threads = [threading.Thread(target=write_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
