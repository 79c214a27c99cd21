"""Keyword tables of the offline analyzer (Hebrew and English).

Each entry maps words that may appear in a transcript or document to the value the analyzer
reports. The tables are the whole "knowledge" of the offline analyzer; edit them, not the code.
"""

from __future__ import annotations

# (document name, who issues it, words that mention it, document_type that satisfies it)
DOCUMENTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("Medical report", "Treating physician",
     ("medical report", "medical summary", "דוח רפואי", "סיכום רפואי", "מסמכים רפואיים", "תיק רפואי"),
     "medical_report"),
    ("Hospital discharge letter", "Hospital",
     ("discharge", "hospitalization summary", "מכתב שחרור", "סיכום אשפוז"), "medical_report"),
    ("Pay slips", "Employer", ("pay slip", "payslip", "salary slip", "תלוש", "תלושי שכר"), "pay_slip"),
    ("Identity card", "Population Authority", ("identity card", "id card", "תעודת זהות", "ת.ז"), "identity"),
    ("Bank account confirmation", "Bank",
     ("bank account", "bank confirmation", "אישור ניהול חשבון", "פרטי חשבון"), "bank"),
    ("Employer confirmation", "Employer", ("employer letter", "employer confirmation", "אישור מעסיק", "טופס 100"),
     "pay_slip"),
    ("Psychiatric assessment", "Psychiatrist", ("psychiatric", "פסיכיאטר", "חוות דעת פסיכיאטרית"), "medical_report"),
)

# (benefit name, words that mention it)
PRODUCTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("General disability allowance", ("disability allowance", "disability pension", "קצבת נכות", "נכות כללית")),
    ("Mobility allowance", ("mobility", "ניידות")),
    ("Special services allowance", ("special services", "שירותים מיוחדים")),
    ("Work injury benefits", ("work injury", "work accident", "נפגע עבודה", "תאונת עבודה", "פגיעה בעבודה")),
    ("Vocational rehabilitation", ("rehabilitation", "degree", "studies", "שיקום", "לימודים", "תואר")),
    ("Income tax exemption", ("tax exemption", "פטור ממס")),
)

DISABILITY_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Orthopedic", ("back", "spine", "knee", "orthopedic", "גב", "עמוד שדרה", "ברך", "אורתופד")),
    ("Psychiatric", ("depression", "anxiety", "ptsd", "psychiatric", "דיכאון", "חרדה", "פוסט טראומה", "פסיכיאטר")),
    ("Cardiac", ("heart", "cardiac", "לב", "קרדיולוג")),
    ("Neurological", ("epilepsy", "neurolog", "stroke", "אפילפסיה", "נוירולוג", "שבץ")),
    ("Diabetes", ("diabetes", "סוכרת")),
    ("Respiratory", ("asthma", "copd", "אסתמה", "ריאות")),
)

LEGAL = ("national insurance", "bituach leumi", "disability", "committee", "percent", "%", "eligib",
         "ביטוח לאומי", "נכות", "ועדה", "זכאות", "אחוז", "תביעה")
MEDICAL = ("diagnos", "treatment", "surgery", "hospital", "doctor", "dr.", "אבחנה", "טיפול", "ניתוח",
           "אשפוז", "רופא", "ד\"ר", "ד״ר")
MONTHLY = ("monthly", "allowance", "per month", "חודשי", "קצבה", "לחודש")
DEGREE = ("degree", "tuition", "studies", "תואר", "שכר לימוד", "לימודים")
LIVING = ("living expenses", "subsistence", "דמי מחיה", "הוצאות מחיה")
TAX = ("tax exemption", "פטור ממס")
HOSPITAL = ("hospitalized", "hospitalization", "admitted", "אושפז", "אשפוז")
MEDICATION = ("mg", "מ\"ג", "מ״ג")
EXPECTED_TYPES = ("medical_report", "pay_slip", "identity")
CLAIM_RATES = (50, 66.7, 75, 100)
