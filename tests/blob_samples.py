"""Real files for blob tests, made without image libraries: PNG and PDF bytes, and
stand-ins for a PIL image and a matplotlib figure (the SDK recognises both by their
`save` / `savefig` methods)."""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour (8-bit RGB, no filter)."""
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )


def pdf(text: str = "runfolio") -> bytes:
    """A valid one-page PDF showing `text` (ASCII)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class FakePilImage:
    """Has what the SDK uses of a PIL image: `save(fp, format=...)` writing a PNG."""

    def __init__(self, rgb: tuple[int, int, int] = (10, 120, 200)) -> None:
        self.rgb = rgb
        self.formats: list[str] = []

    def save(self, fp: BinaryIO, format: str | None = None) -> None:
        self.formats.append(str(format))
        fp.write(png(5, 5, self.rgb))


class FakeFigure:
    """Has what the SDK uses of a matplotlib figure: `savefig(fp, format=...)`."""

    def __init__(self, rgb: tuple[int, int, int] = (20, 160, 60)) -> None:
        self.rgb = rgb
        self.formats: list[str] = []

    def savefig(self, fp: BinaryIO, format: str | None = None) -> None:
        self.formats.append(str(format))
        fp.write(png(6, 4, self.rgb))
