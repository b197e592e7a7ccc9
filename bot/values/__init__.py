"""Typed values from spoken answers (Russian and English, as a recogniser writes them): numbers, digit strings,
money, ratings, dates, times and moments. Every parser returns None when nothing usable was said; none raises.
"""

from bot.values.dates import parse_date
from bot.values.datetimes import parse_datetime
from bot.values.numbers import parse_digits, parse_money, parse_number
from bot.values.ratings import parse_rating
from bot.values.times import parse_time

__all__ = [
    "parse_date",
    "parse_datetime",
    "parse_digits",
    "parse_money",
    "parse_number",
    "parse_rating",
    "parse_time",
]
