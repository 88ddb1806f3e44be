"""Amounts in words, as a receipt or a confirmation step repeats them.

``"1500.50", "NGN"`` → ``"One thousand five hundred naira and fifty kobo"``. British usage
("one hundred and five"), hyphenated tens ("forty-two"); Decimal arithmetic only.
"""

from decimal import Decimal, InvalidOperation

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))

# (major singular, major plural, minor singular, minor plural, minor digits)
UNITS: dict[str, tuple[str, str, str, str, int]] = {
    "NGN": ("naira", "naira", "kobo", "kobo", 2),
    "USD": ("dollar", "dollars", "cent", "cents", 2),
    "EUR": ("euro", "euros", "cent", "cents", 2),
    "GBP": ("pound", "pounds", "penny", "pence", 2),
}


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts: list[str] = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest:
        if rest < 20:
            tail = _ONES[rest]
        else:
            tens, ones = divmod(rest, 10)
            tail = _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
        parts.append(("and " if hundreds else "") + tail)
    return " ".join(parts)


def number_in_words(n: int) -> str:
    """A non-negative whole number in (lower-case) English words."""
    if n < 0:
        raise ValueError("negative numbers have no words here")
    if n == 0:
        return "zero"
    parts: list[str] = []
    for size, name in _SCALES:
        if n >= size:
            chunk, n = divmod(n, size)
            parts.append(f"{number_in_words(chunk)} {name}")
    if n:
        # "one thousand and five": the British "and" before a last group under a hundred.
        parts.append(("and " if parts and n < 100 else "") + _below_thousand(n))
    return " ".join(parts)


def amount_in_words(amount: str | Decimal, currency: str = "NGN") -> str:
    """``amount`` (a decimal string) in words with its currency's units, capitalised.

    Returns an empty string for something that is not an amount.
    """
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    if not value.is_finite() or value < 0:
        return ""
    code = currency.upper()
    major_one, major_many, minor_one, minor_many, digits = UNITS.get(
        code, (code, code, "minor unit", "minor units", 2)
    )
    scaled = int((value * 10**digits).to_integral_value())
    major, minor = divmod(scaled, 10**digits)
    parts: list[str] = []
    if major or not minor:
        parts.append(f"{number_in_words(major)} {major_one if major == 1 else major_many}")
    if minor:
        parts.append(f"{number_in_words(minor)} {minor_one if minor == 1 else minor_many}")
    text = " and ".join(parts)
    return text[:1].upper() + text[1:]
