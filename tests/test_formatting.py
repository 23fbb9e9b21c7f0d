import pytest

from reportgen.page.formatting import fmt_bytes, fmt_int, fmt_number, fmt_percent, fmt_shape


@pytest.mark.parametrize("value, text", [
    (-0.014383553, "-0.01438"), (0.23351653, "0.2335"), (1234.5678, "1,235"),
    (313700, "313,700"), (0.0, "0"), (1e-7, "1.000e-07"), (2.5e9, "2.500e+09"),
    (None, "—"), (float("nan"), "NaN"), (float("-inf"), "-Inf"),
    # Rounding up to the next power of ten keeps four digits (was "1.0000", "10.000").
    (0.99996, "1.000"), (0.9999, "0.9999"), (-9.99996, "-10.00"), (0.00099996, "0.001000"),
])
def test_numbers_have_four_significant_digits(value, text):
    assert fmt_number(value) == text


def test_other_formats():
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_percent(0.125) == "12.5 %"
    assert fmt_bytes(512) == "512 bytes" and fmt_bytes(4046712) == "3.9 MiB"
    assert fmt_shape((3, 3, 1, 32)) == "(3, 3, 1, 32)"
