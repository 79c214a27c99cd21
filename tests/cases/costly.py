"""Files that are expensive to read, generated for the bounded-cost tests (fictional content)."""

from __future__ import annotations

import io


def sparse_pdf(pieces: int, pages: int = 1) -> bytes:
    """``pages`` pages sharing one content stream whose only line is ``pieces`` one-letter text pieces
    spread far apart (each its own text object): slow to parse and, in layout mode, hundreds of MB
    of padding. Many pages make a small file that takes minutes to read."""
    import zlib

    content = b"".join(b"BT /F1 1 Tf %d 400 Td (x) Tj ET\n" % (index * 50_000) for index in range(pieces))
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"3 0 R" for _ in range(pages)), pages),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
