"""Extraction time and peak memory per page: in-process (the old thread-pool way) vs the worker pool.

Documents: the demo PDF (``server/cases/demo_files/medical_summary_he.pdf``), a 50-page text PDF
(fpdf2, Hebrew and English lines) and a 50-page DOCX (python-docx, a paragraph block and a table per
page, page breaks between), all generated or shipped, fictional content.

Each mode first extracts the file once untimed (pypdf's one-time set-up: lazy imports and font
tables, 0.3-0.7 s on this machine), then times ``--runs`` extractions; peak memory includes that run.

- in-process: a fresh Python process imports the extraction code, then extracts the file; peak
  memory is its ``VmHWM`` minus its ``VmHWM`` after the imports.
- pool: ``DocumentExtractor`` (a fresh worker per document, started on a one-line text file first)
  extracts the file; time is what the server waits (IPC included); peak memory is
  the worker's ``VmHWM`` minus its ``VmHWM`` after warming; the server's own RSS growth is shown too.

    python bench/bench_extraction.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DEMO_PDF = os.path.join(ROOT, "server", "cases", "demo_files", "medical_summary_he.pdf")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = ["סיכום רפואי: המטופל סובל מכאבי גב כרוניים מאז התאונה.", "Discharge summary: chronic lumbar pain, "
         "work capacity reduced by 40% since 12/03/2024.", "שכר חודשי: 12,500 ₪ ברוטו, ותק 7 שנים."]


def text_pdf(pages: int) -> bytes:
    """``pages`` pages of 30 lines each."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_font("DejaVu", fname=FONT)
    doc.set_font("DejaVu", size=10)
    for _ in range(pages):
        doc.add_page()
        for index in range(30):
            doc.cell(0, 8, LINES[index % len(LINES)], new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def docx_pages(pages: int) -> bytes:
    """``pages`` pages: 20 paragraphs and a 6x3 table each, a page break between."""
    import docx

    document = docx.Document()
    for page in range(pages):
        for index in range(20):
            document.add_paragraph(LINES[index % len(LINES)])
        table = document.add_table(rows=6, cols=3)
        for row in range(6):
            for col in range(3):
                table.cell(row, col).text = f"{page}-{row}-{col} ₪"
        if page < pages - 1:
            document.add_page_break()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def high_water_kib(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def in_process_child(path: str, runs: int) -> None:
    """Body of the in-process measurement (run in a fresh interpreter)."""
    import docx  # noqa: F401  # imported before the baseline, as the worker's forkserver does
    import pypdf  # noqa: F401

    import server.cases.docx_text  # noqa: F401
    import server.cases.pdf_text  # noqa: F401
    from server.cases.extraction import extract

    data = open(path, "rb").read()
    baseline = high_water_kib()
    extract(data)  # untimed: pypdf's one-time set-up (lazy imports, font tables)
    started = time.perf_counter()
    for _ in range(runs):
        extract(data)
    seconds = (time.perf_counter() - started) / runs
    print(json.dumps({"seconds": seconds, "peak_kib": high_water_kib() - baseline}))


def in_process(path: str, runs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path, "--runs", str(runs)],  # noqa: S603
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def in_pool(path: str, runs: int, warm_path: str) -> dict:
    from server.cases.extraction_pool import DocumentExtractor

    extractor = DocumentExtractor()
    await extractor.extract_file(warm_path)
    worker = extractor._idle[0]  # noqa: SLF001  # the bench reads the worker's own peak
    baseline = high_water_kib(worker.process.pid)
    server_before = rss_kib()
    await extractor.extract_file(path)  # untimed: pypdf's one-time set-up in this worker
    started = time.perf_counter()
    for _ in range(runs):
        await extractor.extract_file(path)
    seconds = (time.perf_counter() - started) / runs
    peak = high_water_kib(worker.process.pid) - baseline
    extractor.close()
    return {"seconds": seconds, "peak_kib": peak, "server_growth_kib": rss_kib() - server_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        in_process_child(args.child, args.runs)
        return
    work = tempfile.mkdtemp(prefix="bench-extraction-")
    documents = [("demo PDF (medical_summary_he.pdf)", DEMO_PDF, None)]
    for name, data, pages in (("50-page text PDF", text_pdf(50), 50), ("50-page DOCX", docx_pages(50), 50)):
        path = os.path.join(work, name.replace(" ", "_"))
        with open(path, "wb") as out:
            out.write(data)
        documents.append((name, path, pages))
    warm = os.path.join(work, "warm.txt")
    with open(warm, "w") as out:
        out.write("warm")
    from server.cases.extraction import extract

    print("| document | pages | mode | ms per page | peak MiB per page | peak MiB | server RSS growth MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, path, pages in documents:
        pages = pages or extract(open(path, "rb").read()).page_count or 1
        for mode, result in (("in-process", in_process(path, args.runs)),
                             ("worker pool", asyncio.run(in_pool(path, args.runs, warm)))):
            growth = result.get("server_growth_kib")
            print(f"| {name} | {pages} | {mode} | {1000 * result['seconds'] / pages:.1f} | "
                  f"{result['peak_kib'] / 1024 / pages:.2f} | {result['peak_kib'] / 1024:.1f} | "
                  f"{'-' if growth is None else f'{growth / 1024:.1f}'} |")


if __name__ == "__main__":
    main()
