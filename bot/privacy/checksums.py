"""Check digits of the identifiers redaction looks for: Luhn (bank cards), SNILS and INN (Russian tax number)."""

from __future__ import annotations

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def luhn_valid(digits: str) -> bool:
    """Whether a card number's last digit is its Luhn check digit."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def snils_valid(digits: str) -> bool:
    """An 11-digit SNILS: the last two digits are Σ digit·(9 − position) of the first nine, reduced mod 101."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total % 101 % 100
    return check == int(digits[9:])


def _inn_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_valid(digits: str) -> bool:
    """A 10-digit (organisation) or 12-digit (person) INN with its check digits."""
    if len(digits) == 10 and digits.isdigit():
        return _inn_digit(digits, _INN10) == int(digits[9])
    if len(digits) == 12 and digits.isdigit():
        return _inn_digit(digits, _INN11) == int(digits[10]) and _inn_digit(digits, _INN12) == int(digits[11])
    return False
