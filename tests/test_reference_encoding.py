"""Large references survive the piecewise Base64 encoding exactly (pieces must join with no padding between)."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from seedream_ui.references import _B64_PIECE, _data_uri, prepare_reference


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, _B64_PIECE - 1, _B64_PIECE, _B64_PIECE + 1, _B64_PIECE + 2, 3 * _B64_PIECE + 4]
)
def test_a_data_uri_is_exactly_the_base64_of_the_bytes_at_every_length(size: int) -> None:
    data = os.urandom(size)
    assert _data_uri("png", data) == "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def test_a_file_spanning_many_pieces_is_sent_byte_for_byte(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3)).save(buffer, "BMP")  # ~900 KB, uncompressed
    original = buffer.getvalue()
    assert len(original) > 4 * _B64_PIECE
    path = tmp_path / "big.bmp"
    path.write_bytes(original)

    prepared = prepare_reference(path)

    header, _, encoded = prepared.value.partition(",")
    assert header == "data:image/bmp;base64"
    assert base64.b64decode(encoded, validate=True) == original
    assert not prepared.reencoded
