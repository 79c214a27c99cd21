"""Keyword tables and fixed phrases of the offline analyzer, in English and Hebrew.

Each entry maps words that may appear in a transcript or document to the value the analyzer
reports. The tables are the whole "knowledge" of the offline analyzer; edit them, not the code.
Every name it reports is a pair (English, Hebrew): the analyzer answers in the language of its
input, like the models are asked to (Hebrew if the input has any Hebrew).
"""

from __future__ import annotations

Names = tuple[str, str]  # (English, Hebrew)

# (document name, who issues it, words that mention it, document_type that satisfies it)
DOCUMENTS: tuple[tuple[Names, Names, tuple[str, ...], str], ...] = (
    (("Medical report", "דוח רפואי"), ("Treating physician", "רופא מטפל"),
     ("medical report", "medical summary", "דוח רפואי", "סיכום רפואי", "מסמכים רפואיים", "תיק רפואי"),
     "medical_report"),
    (("Hospital discharge letter", "מכתב שחרור מבית חולים"), ("Hospital", "בית החולים"),
     ("discharge", "hospitalization summary", "מכתב שחרור", "סיכום אשפוז"), "medical_report"),
    (("Pay slips", "תלושי שכר"), ("Employer", "המעסיק"),
     ("pay slip", "payslip", "salary slip", "תלוש", "תלושי שכר"), "pay_slip"),
    (("Identity card", "תעודת זהות"), ("Population Authority", "רשות האוכלוסין"),
     ("identity card", "id card", "תעודת זהות", "ת.ז"), "identity"),
    (("Bank account confirmation", "אישור ניהול חשבון בנק"), ("Bank", "הבנק"),
     ("bank account", "bank confirmation", "אישור ניהול חשבון", "פרטי חשבון"), "bank"),
    (("Employer confirmation", "אישור מעסיק"), ("Employer", "המעסיק"),
     ("employer letter", "employer confirmation", "אישור מעסיק", "טופס 100"), "employment"),
    (("Psychiatric assessment", "חוות דעת פסיכיאטרית"), ("Psychiatrist", "פסיכיאטר"),
     ("psychiatric", "פסיכיאטר", "חוות דעת פסיכיאטרית"), "medical_report"),
)

# (benefit name, words that mention it)
PRODUCTS: tuple[tuple[Names, tuple[str, ...]], ...] = (
    (("General disability allowance", "קצבת נכות כללית"),
     ("disability allowance", "disability pension", "קצבת נכות", "נכות כללית")),
    (("Mobility allowance", "גמלת ניידות"), ("mobility", "ניידות")),
    (("Special services allowance", "גמלת שירותים מיוחדים"), ("special services", "שירותים מיוחדים")),
    (("Work injury benefits", "דמי פגיעה בעבודה"),
     ("work injury", "work accident", "נפגע עבודה", "תאונת עבודה", "פגיעה בעבודה")),
    (("Vocational rehabilitation", "שיקום מקצועי"),
     ("rehabilitation", "degree", "studies", "שיקום", "לימודים", "תואר")),
    (("Income tax exemption", "פטור ממס הכנסה"), ("tax exemption", "פטור ממס")),
)

DISABILITY_TYPES: tuple[tuple[Names, tuple[str, ...]], ...] = (
    (("Orthopedic", "אורתופדית"), ("back", "spine", "knee", "orthopedic", "disc", "גב", "עמוד שדרה", "ברך",
                                   "אורתופד", "דיסק")),
    (("Psychiatric", "נפשית"), ("depression", "anxiety", "ptsd", "psychiatric", "דיכאון", "חרדה", "פוסט טראומה",
                                "פסיכיאטר")),
    (("Cardiac", "לב"), ("heart", "cardiac", "קרדיולוג", "מחלת לב", "אוטם")),
    (("Neurological", "נוירולוגית"), ("epilepsy", "neurolog", "stroke", "sclerosis", "אפילפסיה", "נוירולוג",
                                      "שבץ", "טרשת")),
    (("Diabetes", "סוכרת"), ("diabetes", "סוכרת")),
    (("Respiratory", "נשימתית"), ("asthma", "copd", "אסתמה", "ריאות")),
)

# What a claim file is expected to hold, by document type, with the name of what is missing.
EXPECTED_TYPES: tuple[tuple[str, Names], ...] = (
    ("medical_report", ("Medical report", "דוח רפואי")),
    ("pay_slip", ("Pay slips", "תלושי שכר")),
    ("identity", ("Identity card", "תעודת זהות")),
)

# Fixed phrases; ``{}`` is filled with a name from the tables above or a number.
OBTAIN: Names = ("Obtain and upload: {}", "יש להשיג ולהעלות: {}")
MEDICAL_POINT: Names = ("Medical point {}", "נקודה רפואית {}")
SOURCE_DOCUMENT: Names = ("document {} ({})", "מסמך {} ({})")
DOCUMENT_TYPE_NAMES: dict[str, Names] = {
    "medical_report": ("medical report", "דוח רפואי"), "pay_slip": ("pay slip", "תלוש שכר"),
    "identity": ("identity document", "תעודה מזהה"), "employment": ("employment", "תעסוקה"),
    "bank": ("bank", "בנק"), "legal": ("legal", "משפטי"), "general": ("general", "כללי"), "other": ("other", "אחר"),
}

LEGAL = ("national insurance", "bituach leumi", "disability", "committee", "percent", "%", "eligib",
         "ביטוח לאומי", "נכות", "ועדה", "זכאות", "אחוז", "תביעה", "כושר העבודה")
MEDICAL = ("diagnos", "treatment", "surgery", "hospital", "doctor", "dr.", "mri", "אבחנה", "טיפול", "ניתוח",
           "אשפוז", "רופא", "ד\"ר", "ד״ר", "פיזיותרפיה", "כאב")
# Only words that name a benefit: "monthly" alone also describes a salary.
ALLOWANCE = ("allowance", "pension", "קצבה", "קצבת", "גמלה", "גמלת")
DEGREE = ("degree", "tuition", "studies", "תואר", "שכר לימוד", "לימודים")
LIVING = ("living expenses", "subsistence", "דמי מחיה", "הוצאות מחיה")
TAX = ("tax exemption", "פטור ממס")
HOSPITAL = ("hospitalized", "hospitalization", "admitted", "אושפז", "אשפוז")
MEDICATION = ("mg", "מ\"ג", "מ״ג")

# "Label: value" labels, most specific first.
NAME_LABELS = ("Full name", "Patient name", "Patient", "Employee", "Name",
               "שם מלא", "שם המטופל", "שם המטופלת", "שם העובד", "שם", "עובד", "עובדת", "מטופל")
DIAGNOSIS_LABELS = ("Diagnosis", "אבחנה", "אבחנות")
EMPLOYER_LABELS = ("Employer", "שם המעסיק", "מעסיק")
SALARY_LABELS = ("Gross salary", "Gross pay", "Gross", "שכר ברוטו", "ברוטו")
PHYSICIAN_LABELS = ("Treating physician", "Physician", "רופא מטפל", "הרופא המטפל")
