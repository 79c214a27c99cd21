"""DOCX constructs, one per test, each generated here and checked for the exact stored text."""

from __future__ import annotations

import pytest

from tests.cases.docx_build import build, cell, p, r, row, table
from tests.cases.files import new_case, upload

CHANGES = ("The document has tracked changes that were not accepted; its text is stored as the document "
           "now reads (insertions kept, deletions left out).")


async def stored(api, data: bytes) -> tuple[str, list[str]]:
    """Upload ``data`` as a DOCX; return the stored text and the upload's warnings."""
    case_id = await new_case(api)
    reply = await upload(api, case_id, "letter.docx", data)
    assert reply.status == 201, reply.json
    text = (await api.get(reply.headers["Location"])).json["text"]
    return text, reply.json["warnings"]


@pytest.mark.gen_test(timeout=30)
async def test_docx_block_content_control_is_read_in_order(api):
    body = p("Before") + f"<w:sdt><w:sdtPr><w:alias w:val=\"Facts\"/></w:sdtPr><w:sdtContent>{p('Claimant Avi Tal')}" \
           f"{p('ID 000000018')}</w:sdtContent></w:sdt>" + p("After")
    assert await stored(api, build(body)) == ("Before\nClaimant Avi Tal\nID 000000018\nAfter", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_inline_content_control_keeps_its_sentence_whole(api):
    body = f"<w:p>{r('Salary: ')}<w:sdt><w:sdtPr/><w:sdtContent>{r('7,300 ILS')}</w:sdtContent></w:sdt>" \
           f"{r(' gross.')}</w:p>"
    assert await stored(api, build(body)) == ("Salary: 7,300 ILS gross.", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_content_control_in_a_table_cell_is_read(api):
    inner = f"<w:sdt><w:sdtContent>{p('Grade 3')}</w:sdtContent></w:sdt>"
    body = table(row(cell(p("Rank")), cell(inner)))
    assert await stored(api, build(body)) == ("Rank\tGrade 3", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_text_box_with_fallback_is_read_once_after_its_paragraph(api):
    box = f"<w:txbxContent>{p('Finding: tendinitis')}</w:txbxContent>"
    drawing = ("<mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wp:anchor><a:graphic><a:graphicData>"
               f"<wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
               f"</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict>"
               "</mc:Fallback></mc:AlternateContent>")
    body = f"<w:p>{r('See box: ')}<w:r>{drawing}</w:r></w:p>" + p("End.")
    assert await stored(api, build(body)) == ("See box: \nFinding: tendinitis\nEnd.", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_distinct_headers_and_footers_are_labelled_once_each(api):
    data = build(p("Body text"), headers=["Clinic Neve Or", "Clinic Neve Or (first page)"],
                 footers=["Page footer"])
    assert await stored(api, data) == (
        "[Header]\nClinic Neve Or\n[Header]\nClinic Neve Or (first page)\nBody text\n[Footer]\nPage footer", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_footnotes_are_cited_and_listed_after_the_body(api):
    body = f"<w:p>{r('Diagnosis confirmed')}<w:r><w:footnoteReference w:id=\"2\"/></w:r>{r('.')}</w:p>"
    data = build(body, footnotes={-1: "", 2: "MRI of 2026-02-01."})
    assert await stored(api, data) == ("Diagnosis confirmed[1].\n[Footnote 1] MRI of 2026-02-01.", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_hyperlink_smart_tag_and_custom_xml_text_is_kept(api):
    body = (f"<w:p><w:hyperlink r:id=\"rId99\">{r('portal page')}</w:hyperlink>{r(', ')}"
            f"<w:smartTag w:uri=\"urn:x\" w:element=\"place\">{r('Haifa')}</w:smartTag>{r(', ')}"
            f"<w:customXml w:element=\"employer\">{r('Orion Ltd')}</w:customXml></w:p>")
    assert await stored(api, build(body)) == ("portal page, Haifa, Orion Ltd", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_fields_show_their_results_not_their_codes(api):
    complex_field = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> MERGEFIELD Name </w:instrText>'
                     '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>' + r("Dana Mor") +
                     '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    body = (f"<w:p>{r('Dear ')}{complex_field}{r(', on ')}"
            f"<w:fldSimple w:instr=\" DATE \">{r('2026-03-04')}</w:fldSimple>{r('.')}</w:p>")
    assert await stored(api, build(body)) == ("Dear Dana Mor, on 2026-03-04.", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_tracked_changes_read_as_the_document_now_reads_with_a_warning(api):
    body = (f"<w:p>{r('Capacity ')}<w:del w:id=\"1\" w:author=\"x\"><w:r><w:delText>60</w:delText></w:r></w:del>"
            f"<w:ins w:id=\"2\" w:author=\"x\">{r('40')}</w:ins>{r(' percent.')}</w:p>")
    assert await stored(api, build(body)) == ("Capacity 40 percent.", [CHANGES])


@pytest.mark.gen_test(timeout=30)
async def test_docx_merged_cells_are_read_once_and_rows_stay_on_one_line(api):
    body = table(
        row(cell(p("Month")), cell(p("Gross"), '<w:gridSpan w:val="2"/>')),
        row(cell(p("January"), '<w:vMerge w:val="restart"/>'), cell(p("9,100")), cell(p("ILS"))),
        row(cell(p(""), "<w:vMerge/>"), cell(p("9,200")), cell(p("ILS"))),
    )
    assert await stored(api, build(body)) == ("Month\tGross\nJanuary\t9,100\tILS\n9,200\tILS", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_nested_table_is_kept_inside_its_cell(api):
    nested = table(row(cell(p("base")), cell(p("8,000"))), row(cell(p("bonus")), cell(p("500"))))
    body = table(row(cell(p("Pay")), cell(p("Parts:") + nested)))
    assert await stored(api, build(body)) == ("Pay\tParts: base | 8,000 / bonus | 500", [])


@pytest.mark.gen_test(timeout=30)
async def test_docx_image_without_text_is_named_in_a_warning(api):
    body = p("Scan attached") + ("<w:p><w:r><w:drawing><wp:inline><a:graphic><a:graphicData><pic:pic/>"
                                 "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>")
    text, warnings = await stored(api, build(body))
    assert text == "Scan attached"
    assert warnings == ["The document contains 1 images with no readable text; they were left out."]


@pytest.mark.gen_test(timeout=30)
async def test_docx_equation_characters_are_kept_in_their_sentence(api):
    math = ('<m:oMath xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"><m:r><m:t>40%×12=4.8</m:t>'
            "</m:r></m:oMath>")
    body = f"<w:p>{r('Loss: ')}{math}{r(' points.')}</w:p>"
    assert await stored(api, build(body)) == ("Loss: 40%×12=4.8 points.", [])
