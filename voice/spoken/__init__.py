"""Speech rendering: numbers, money, dates, times, phones and digit strings as the words a TTS voice must read,
in the grammatical case and gender the sentence needs (Russian) or the natural English form.

`voice` owns it so that both the dialog (`bot/`) and the TTS safety net can use it: `bot.dialog.render` fills a
script's placeholders with `say_value`-style words and then runs `normalise_text`; `voice.tts_piper` runs
`normalise_text` on any text that still has digits.
"""

from voice.spoken.grammar import Case, Gender, parse_case
from voice.spoken.normalise import normalise_text
from voice.spoken.russian import warm_up
from voice.spoken.values import (
    RenderError,
    say_date,
    say_datetime,
    say_digits,
    say_money,
    say_number,
    say_phone,
    say_time,
)

__all__ = [
    "Case",
    "Gender",
    "RenderError",
    "normalise_text",
    "parse_case",
    "say_date",
    "say_datetime",
    "say_digits",
    "say_money",
    "say_number",
    "say_phone",
    "say_time",
    "warm_up",
]
