"""keep_metadata with xmp followed by png writes the XMP (an iTXt ``XML:com.adobe.xmp`` chunk),
read back by independent readers: a PNG chunk parser written here, and exiftool when present."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
from degradebench.generators.core.errors import OpError
from degradebench.generators.ops import ImageState, make_step, run_chain
from PIL import Image

XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>Zoë Example'
    "</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
).encode()
IMG = np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every PNG chunk, CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        pos += 12 + n
    return out


def _itxt(body: bytes) -> tuple[str, bytes]:
    """keyword, text of an iTXt chunk (PNG spec 11.3.4.5), uncompressed only."""
    key, rest = body.split(b"\0", 1)
    flag, method = rest[0], rest[1]
    assert (flag, method) == (0, 0)
    _lang, rest = rest[2:].split(b"\0", 1)
    _tkey, text = rest.split(b"\0", 1)
    return key.decode("latin-1"), text


def _png(keep: list[str], xmp: bytes | None = XMP) -> bytes:
    state = ImageState(pixels=IMG, meta={"xmp": xmp, "exif": None, "icc": None})
    chain = [make_step({"op": "keep_metadata", "kinds": keep}), make_step({"op": "png"})]
    return run_chain(state, chain).data


def test_kept_xmp_is_written_as_itxt_and_read_back_independently() -> None:
    data = _png(["xmp"])
    found = [_itxt(b) for k, b in _chunks(data) if k == b"iTXt"]
    assert found == [("XML:com.adobe.xmp", XMP)]
    with Image.open(io.BytesIO(data)) as im:  # pixels are untouched by the chunk
        assert np.array_equal(np.asarray(im), IMG)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_exiftool_reads_the_xmp_of_the_png() -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.png"
        path.write_bytes(_png(["xmp"]))
        out = subprocess.run(
            ["exiftool", "-s3", "-XMP-dc:Creator", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    assert out.strip() == "Zoë Example"


def test_png_without_kept_xmp_is_byte_identical_to_a_plain_pillow_png() -> None:
    plain = io.BytesIO()
    Image.fromarray(IMG).save(plain, "PNG", compress_level=1)
    assert _png(["exif"]) == plain.getvalue()  # nothing kept that exists: unchanged bytes
    assert run_chain(ImageState(pixels=IMG), [make_step({"op": "png"})]).data == plain.getvalue()
    assert not [k for k, _ in _chunks(_png(["exif"])) if k == b"iTXt"]


def test_xmp_that_is_not_utf8_is_refused_with_the_fix() -> None:
    with pytest.raises(OpError, match="not UTF-8.*strip_metadata"):
        _png(["xmp"], xmp=b"\xff\xfe<x:xmpmeta/>")
