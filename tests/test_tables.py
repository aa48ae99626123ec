import pytest

from companion.tables import text_table, text_width


def test_a_chinese_character_takes_two_columns():
    assert text_width("conv1") == 5
    assert text_width("通道") == 4
    assert text_width("合计 1×2") == 8  # × is not wide


def test_columns_line_up_in_display_columns():
    text = text_table(["层", "个数"], [["conv1", "320"], ["合计", "18,496"]], right={1})
    head, dashes, *rows = text.splitlines()
    assert dashes == "-----  ------"
    assert rows == ["conv1     320", "合计   18,496"]
    assert all(text_width(line) == len(dashes) for line in [head, *rows])


def test_bad_rows_and_cells_are_refused():
    with pytest.raises(ValueError, match="row 0 has 1 cells; the header has 2"):
        text_table(["a", "b"], [["x"]])
    with pytest.raises(TypeError, match="must be a str"):
        text_width(3)
