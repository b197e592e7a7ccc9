"""Phone numbers to E.164 with `phonenumbers`, plus the time zones a number's region spans.

Validity and time zones depend on a number's leading digits, so they are cached by country code and national
prefix (`PREFIX_DIGITS`) and number length: importing 100k numbers parses each only once cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers import timezone as phone_timezones

PREFIX_DIGITS = 5
_SEPARATORS = re.compile(r"[\s()\-.]")
_DIGITS = re.compile(r"\+?\d{6,16}")


class PhoneError(ValueError):
    """The text is not a valid phone number; the message says why."""


@dataclass(frozen=True)
class Phone:
    e164: str
    timezones: tuple[str, ...]  # IANA zones of the number's region (several for e.g. Russian mobiles)
    zone_list: str = ""  # the same, comma-separated (as stored on a contact)


class PhoneNormalizer:
    """Turns user-typed numbers ('8 (912) 345-67-89', '+7 912 …') into E.164 for one default region."""

    def __init__(self, default_region: str = "RU") -> None:
        self.default_region = default_region.upper()
        self.country_code = phonenumbers.country_code_for_region(self.default_region)
        self.trunk_prefix = "8" if self.default_region == "RU" else None
        self._cache: dict[tuple[str, int], tuple[tuple[str, ...], str] | None] = {}
        self._home = f"+{self.country_code}"
        self._home_key = len(self._home) + PREFIX_DIGITS
        self._national_starts = (self.trunk_prefix, str(self.country_code))

    def normalize(self, raw: str) -> Phone:
        """The E.164 form and time zones of `raw`, or PhoneError."""
        text = _SEPARATORS.sub("", raw.strip())
        if not text:
            raise PhoneError("empty phone number")
        if not _DIGITS.fullmatch(text):
            return self._slow(raw)
        if self.trunk_prefix and len(text) == 11 and text[0] in self._national_starts:
            e164 = self._home + text[1:]
            key = (e164[: self._home_key], len(e164))
        else:
            if text.startswith("+"):
                e164 = text
            elif text.startswith("00"):
                e164 = "+" + text[2:]
            else:
                return self._slow(raw)
            cc_len = next((n for n in (1, 2, 3) if int(e164[1 : 1 + n]) in COUNTRY_CODE_TO_REGION_CODE), 3)
            key = (e164[: 1 + cc_len + PREFIX_DIGITS], len(e164))
        if key not in self._cache:
            try:
                canonical = self._slow(e164)
            except PhoneError:
                canonical = None
            # only a prefix whose numbers are valid and already canonical takes the fast path
            good = canonical is not None and canonical.e164 == e164
            self._cache[key] = (canonical.timezones, canonical.zone_list) if good else None
        zones = self._cache[key]
        if zones is None:
            return self._slow(raw)
        return Phone(e164, *zones)

    def _slow(self, raw: str) -> Phone:
        try:
            number = phonenumbers.parse(raw, self.default_region)
        except phonenumbers.NumberParseException as exc:
            raise PhoneError(f"not a phone number: {raw!r}") from exc
        if not phonenumbers.is_valid_number(number):
            raise PhoneError(f"invalid phone number: {raw!r}")
        zones = tuple(z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown")
        return Phone(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), zones, ",".join(zones)
        )
