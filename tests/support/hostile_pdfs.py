"""Hostile PDFs, written byte by byte: small files that are costly to read.

* `shared_stream`: many pages that all draw one compressed content stream full of text
  (a few KB on disk, millions of characters to lay out);
* `huge_page`: one page with a MediaBox of `size_pt` square and no text, only a filled
  rectangle (so it is a page for a vision model to read, rendered as an image);
* `flate_bomb`: one page whose content inflates to `mb` megabytes of spaces.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

from ultudy.study.pdf.isolated import CHILD_MODULE

LETTER = b"[0 0 612 792]"
HELVETICA = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
BOMB_PART_MB = 4


def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF whose object n (1-based) is objects[n - 1]; object 1 is the catalog."""
    data, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref, size = len(data), len(objects) + 1
    data += b"xref\n0 %d\n0000000000 65535 f \n" % size
    data += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    data += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return data


def _stream(content: bytes, *, compress: bool = True) -> bytes:
    if not compress:
        return b"<</Length %d>>\nstream\n%s\nendstream" % (len(content), content)
    packed = zlib.compress(content, 9)
    return b"<</Length %d/Filter/FlateDecode>>\nstream\n%s\nendstream" % (len(packed), packed)


def _pages(count: int, *, media_box: bytes = LETTER) -> list[bytes]:
    """Catalog, page tree, font, content (object 4, filled in by the caller), pages."""
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(count))
    page = b"<</Type/Page/Parent 2 0 R/MediaBox%s/Resources<</Font<</F1 3 0 R>>>>/Contents 4 0 R>>"
    return [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, count),
        HELVETICA,
        b"",
        *[page % media_box for _ in range(count)],
    ]


def shared_stream(pages: int, *, lines: int = 400, chars_per_line: int = 100) -> bytes:
    """`pages` pages of `lines * chars_per_line` characters each, from one stream."""
    line = b"(" + b"W" * chars_per_line + b") Tj 0 -1 Td\n"
    objects = _pages(pages)
    objects[3] = _stream(b"BT /F1 1 Tf 10 780 Td\n" + line * lines + b"ET\n")
    return pdf_bytes(objects)


def text_page(text: str) -> bytes:
    """An ordinary one-page PDF with one line of text."""
    objects = _pages(1)
    objects[3] = _stream(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET\n" % text.encode("latin-1"))
    return pdf_bytes(objects)


def huge_page(size_pt: int) -> bytes:
    objects = _pages(1, media_box=b"[0 0 %d %d]" % (size_pt, size_pt))
    objects[3] = _stream(b"0 0 1 rg 100 100 1000 1000 re f\n", compress=False)
    return pdf_bytes(objects)


def flate_bomb(mb: int) -> bytes:
    """A page whose contents are one stream of 4 MB of spaces (4 KB packed), repeated:
    pdfium joins a page's content streams into one buffer before it parses them."""
    objects = _pages(1)
    objects[3] = _stream(b" " * (BOMB_PART_MB << 20))
    refs = b" ".join([b"4 0 R"] * max(1, mb // BOMB_PART_MB))
    objects[4] = objects[4].replace(b"/Contents 4 0 R", b"/Contents[%s]" % refs)
    return pdf_bytes(objects)


def pdf_readers(parent: int | None = None) -> list[int]:
    """Running PDF reader processes of this virtualenv (children of `parent`, if given)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
        ours = args[:3] == [sys.executable.encode(), b"-m", CHILD_MODULE.encode()]
        if ours and parent in (None, ppid):
            found.append(int(entry.name))
    return found
