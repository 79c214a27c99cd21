"""Demo data for development: a few fictional cases for ``dev-user``, seeded when the database is empty.

Every name, id number and amount is invented. The documents are small committed files (a Hebrew
PDF medical summary made with fpdf2 and DejaVu Sans, a Hebrew DOCX pay slip) that go through the
real extraction pipeline, so the three analyses can be started right away.
"""

from __future__ import annotations

import logging
import os
import uuid

from server.cases.models import CaseDocument
from server.cases.service import CaseServices
from server.clock import utcnow

log = logging.getLogger(__name__)

DEV_USER = "dev-user"
FILES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo_files")

HEBREW_TRANSCRIPT = """נציגה: שלום, הגעת למשרד עורכי הדין. עם מי אני מדברת?
לקוח: שלום, קוראים לי יוסי לוי. לפני שנה נפצעתי בגב בעבודה, במחסן.
נציגה: מה קרה בדיוק?
לקוח: הרמתי ארגז כבד והרגשתי כאב חד. עשו לי MRI ומצאו פריצת דיסק.
נציגה: אתה עובד היום?
לקוח: עבדתי במשרה מלאה, היום אני עובד חצי משרה בגלל הכאבים. השכר ירד מ-12,000 ל-6,000 ש"ח.
נציגה: יש לך סיכום רפואי ותלושי שכר?
לקוח: כן, יש לי סיכום מבית החולים ותלוש של ינואר."""

ENGLISH_TRANSCRIPT = """Agent: Good morning, how can I help you?
Client: Hi, my name is Sarah Miller. I have had multiple sclerosis for six years.
Agent: How does it affect your daily life and work?
Client: I was a teacher. Since last year I can only work two days a week because of fatigue and balance problems.
Agent: Have you applied to National Insurance before?
Client: No, this is the first time. I have letters from my neurologist.
Agent: Please upload them, and your last three pay slips if you can."""

_CASES = [
    ("תביעת נכות כללית - יוסי לוי (דמו)", HEBREW_TRANSCRIPT,
     [("medical_summary_he.pdf", "medical_report"), ("pay_slip_he.docx", "pay_slip")]),
    ("General disability - Sarah Miller (demo)", ENGLISH_TRANSCRIPT, []),
    ("Documents only - Yossi Levi pay slip (demo)", "", [("pay_slip_he.docx", "pay_slip")]),
]


async def seed_demo_cases(cases: CaseServices, owner_id: str = DEV_USER) -> int:
    """Create the demo cases when the database has no case at all; returns how many were created."""
    repository = cases.repository
    if await repository.count_cases() > 0:
        return 0
    for title, transcript, documents in _CASES:
        case = await repository.create_case(owner_id, title, {"transcript": transcript, "messages": []})
        for file_name, document_type in documents:
            with open(os.path.join(FILES_DIR, file_name), "rb") as handle:
                data = handle.read()
            extracted = await cases.extractor.extract(data)
            await repository.add_document(CaseDocument(
                document_id=str(uuid.uuid4()), case_id=case.case_id, file_name=file_name,
                content_type=extracted.content_type, size_bytes=extracted.size_bytes, sha256=extracted.sha256,
                document_type=document_type, page_count=extracted.page_count, text_found=extracted.text_found,
                text_chars=len(extracted.text), uploaded_by=owner_id, created_at=utcnow(), text=extracted.text))
    log.info("seeded %d demo cases for %s", len(_CASES), owner_id)
    return len(_CASES)
