"""Visual-to-logical reordering of Hebrew, the fallback for PDFs that layout extraction cannot read."""

from __future__ import annotations

from server.cases.bidi import is_visual_order, to_logical_order, visual_to_logical_line


def test_visual_hebrew_line_is_reversed_to_logical():
    assert to_logical_order(".םיינורכ בג יבאכמ לבוס לפוטמה :יאופר םוכיס") == (
        "סיכום רפואי: המטופל סובל מכאבי גב כרוניים.", True)


def test_visual_line_keeps_numbers_and_latin_runs_and_mirrors_brackets():
    assert visual_to_logical_line("2024 ןושארה עובשב MRI השענ (תוקידב)") == "(בדיקות) נעשה MRI בשבוע הראשון 2024"


def test_logical_text_and_english_are_left_alone():
    text = "סיכום רפואי: המטופל סובל מכאבים.\nEnglish only"
    assert not is_visual_order(text)
    assert to_logical_order(text) == (text, False)
    assert to_logical_order("no hebrew here") == ("no hebrew here", False)


def test_visual_text_without_final_letters_is_detected_by_word_ends_and_punctuation():
    assert is_visual_order("40% :תוכנ זוחא")
    assert not is_visual_order("אחוז נכות: 40%")
    assert not is_visual_order('תקן תמ"א 38 בבניין')


def test_brackets_stored_by_shape_are_turned_back():
    assert visual_to_logical_line("(3 חפסנ האר)   L4-L5 קסיד") == "דיסק L4-L5 (ראה נספח 3)"
    assert visual_to_logical_line(")3 חפסנ האר(") == "(ראה נספח 3)"
