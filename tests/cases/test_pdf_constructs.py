"""PDF constructs, each generated here (reportlab, fpdf2) and checked for the exact stored text."""

from __future__ import annotations

import io

import pytest

from tests.cases import files
from tests.cases.files import new_case, upload


async def stored(api, data: bytes, name: str = "form.pdf") -> tuple[str, list[str]]:
    case_id = await new_case(api)
    reply = await upload(api, case_id, name, data)
    assert reply.status == 201, reply.json
    return (await api.get(reply.headers["Location"])).json["text"], reply.json["warnings"]


def filled_form() -> bytes:
    """A claim form with printed labels and filled text, checkbox and radio fields (reportlab AcroForm)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.drawString(72, 750, "Claim form")
    pdf.drawString(72, 705, "Full name:")
    pdf.acroForm.textfield(name="full_name", value="Rina Golan", x=200, y=700, width=250, height=20)
    pdf.drawString(72, 665, "Injured at work:")
    pdf.acroForm.checkbox(name="at_work", checked=True, x=200, y=660, size=14)
    pdf.drawString(72, 625, "Night shift:")
    pdf.acroForm.checkbox(name="night", checked=False, x=200, y=620, size=14)
    pdf.drawString(72, 585, "Status:")
    pdf.acroForm.radio(name="status", value="employed", selected=True, x=200, y=580, size=14)
    pdf.acroForm.radio(name="status", value="self_employed", selected=False, x=260, y=580, size=14)
    pdf.save()
    return out.getvalue()


@pytest.mark.gen_test(timeout=30)
async def test_pdf_form_values_are_stored_beside_their_labels_with_states_as_words(api):
    text, warnings = await stored(api, filled_form())
    assert text == ("Claim form\nFull name:\nInjured at work:\nNight shift:\nStatus:\n"
                    "Full name: Rina Golan\nInjured at work: checked\nNight shift: not checked\n"
                    "Status: selected employed")
    assert warnings == []


@pytest.mark.gen_test(timeout=30)
async def test_pdf_with_padding_after_eof_is_read(api):
    data = files.pdf(["Ferritin 9 ng/mL"]) + b"\x00" * 18_000
    text, _ = await stored(api, data)
    assert text == "Ferritin 9 ng/mL"


@pytest.mark.gen_test(timeout=30)
async def test_pdf_visual_hebrew_numbers_email_and_brackets_come_out_logical(api):
    lines = ["אחוז נכות: 40%", "דואר: noa.bar@example.org לפניות", "יתרה: -350 ₪", "אבחנה (ראה נספח 2)"]
    text, warnings = await stored(api, files.pdf(lines, shaped=True))
    assert text == "\n".join(lines)
    assert warnings == ["Right-to-left text was stored in visual order in the PDF and was reordered."]


def spread_out_pdf(pieces: int = 40) -> bytes:
    """One line of one-letter pieces placed far apart (layout padding would run to 400,000 spaces)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(10_000_000, 800))
    pdf.drawString(10, 700, "Note")
    for index in range(pieces):
        pdf.drawString(100_000 + index * 200_000, 700, "x")
    pdf.save()
    return out.getvalue()


@pytest.mark.gen_test(timeout=30)
async def test_pdf_layout_padding_over_the_cap_falls_back_to_compact_text_with_a_warning(api):
    text, warnings = await stored(api, spread_out_pdf())
    assert text == "Note " + " ".join(["x"] * 40)
    assert warnings == ["Page 1 spreads its text so widely that its column layout was not kept; its words are "
                        "stored in order with single spaces."]


def pdf_with_image() -> bytes:
    """A text page with a photo-like image beside the text (fpdf2)."""
    from fpdf import FPDF
    from PIL import Image

    photo = Image.new("RGB", (20, 20), (200, 30, 30))
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Stamp below")
    doc.image(photo, x=20, y=40, w=20)
    doc.add_page()
    doc.cell(text="No image here")
    return bytes(doc.output())


@pytest.mark.gen_test(timeout=30)
async def test_pdf_images_are_named_in_a_warning(api):
    text, warnings = await stored(api, pdf_with_image())
    assert text == "Stamp below\n\nNo image here"
    assert warnings == ["Images on page 1 were not read: text inside them (a scan, a stamp, a photographed form) is "
                        "not in the stored text."]


@pytest.mark.gen_test(timeout=30)
async def test_pdf_library_warnings_are_counted_into_one_warning(api):
    data = files.pdf(["Lab values normal"])
    data = data[:data.rindex(b"startxref")] + b"startxref\n12345\n%%EOF\n"  # a wrong pointer: pypdf repairs it
    text, warnings = await stored(api, data)
    assert text == "Lab values normal"
    assert warnings == ["The PDF has 2 damaged or unusual objects; some of its text may be missing."]
