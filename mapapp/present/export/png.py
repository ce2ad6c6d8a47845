"""A small PNG encoder for the rendered sheet, with text chunks (the frames, the source)."""
from __future__ import annotations

import struct
import zlib
from typing import Iterable

import numpy as np


def png_bytes(rgb: np.ndarray, dpi: int, texts: Iterable[tuple[str, str]] = (), level: int = 3) -> bytes:
    """Encode an RGB image (h × w × 3, uint8) as PNG, with its resolution and text chunks.

    Written directly (no row filters, zlib level 3): for flat-coloured maps this is
    about three times faster than the generic encoder and the file is no larger.
    """
    height, width, _ = rgb.shape
    rows = np.empty((height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    rows[:, 1:].reshape(height, width, 3)[...] = rgb  # a view of the rows: one copy of the pixels

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    per_metre = int(round(dpi / 0.0254))
    parts = [b"\x89PNG\r\n\x1a\n",
             chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
             chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))]
    for key, value in texts:
        if value.isascii():
            parts.append(chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")))
        else:  # international text: UTF-8, uncompressed, no language tag
            parts.append(chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")))
    parts.append(chunk(b"IDAT", zlib.compress(rows.tobytes(), level)))
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)
