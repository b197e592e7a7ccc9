"""Russian federal subjects to IANA time zones, by ISO 3166-2 code ("RU-NVS") or by name as lists write it
("Новосибирская обл.", "Респ. Татарстан", "г. Москва", "Ханты-Мансийский АО — Югра").

Yakutia spans three zones: all three are returned and the dialer calls only when the window is open in each.
"""

from __future__ import annotations

import re

# (ISO 3166-2 code, zones, name stems in lower case)
SUBJECTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("RU-AD", "Europe/Moscow", ("адыге",)),
    ("RU-AL", "Asia/Barnaul", ("алтай",)),
    ("RU-ALT", "Asia/Barnaul", ("алтайский",)),
    ("RU-AMU", "Asia/Yakutsk", ("амурская",)),
    ("RU-ARK", "Europe/Moscow", ("архангельская",)),
    ("RU-AST", "Europe/Astrakhan", ("астраханская",)),
    ("RU-BA", "Asia/Yekaterinburg", ("башкортостан", "башкирия")),
    ("RU-BEL", "Europe/Moscow", ("белгородская",)),
    ("RU-BRY", "Europe/Moscow", ("брянская",)),
    ("RU-BU", "Asia/Irkutsk", ("бурятия",)),
    ("RU-CE", "Europe/Moscow", ("чечен", "чечня")),
    ("RU-CHE", "Asia/Yekaterinburg", ("челябинская",)),
    ("RU-CHU", "Asia/Anadyr", ("чукотский",)),
    ("RU-CU", "Europe/Moscow", ("чуваш",)),
    ("RU-DA", "Europe/Moscow", ("дагестан",)),
    ("RU-IN", "Europe/Moscow", ("ингушетия",)),
    ("RU-IRK", "Asia/Irkutsk", ("иркутская",)),
    ("RU-IVA", "Europe/Moscow", ("ивановская",)),
    ("RU-KB", "Europe/Moscow", ("кабардино-балкар",)),
    ("RU-KGD", "Europe/Kaliningrad", ("калининградская",)),
    ("RU-KL", "Europe/Moscow", ("калмыкия",)),
    ("RU-KLU", "Europe/Moscow", ("калужская",)),
    ("RU-KAM", "Asia/Kamchatka", ("камчатский",)),
    ("RU-KC", "Europe/Moscow", ("карачаево-черкес",)),
    ("RU-KR", "Europe/Moscow", ("карелия",)),
    ("RU-KEM", "Asia/Novokuznetsk", ("кемеровская", "кузбасс")),
    ("RU-KHA", "Asia/Vladivostok", ("хабаровский",)),
    ("RU-KK", "Asia/Krasnoyarsk", ("хакасия",)),
    ("RU-KHM", "Asia/Yekaterinburg", ("ханты-мансийский", "югра")),
    ("RU-KIR", "Europe/Kirov", ("кировская",)),
    ("RU-KO", "Europe/Moscow", ("коми",)),
    ("RU-KOS", "Europe/Moscow", ("костромская",)),
    ("RU-KDA", "Europe/Moscow", ("краснодарский", "кубань")),
    ("RU-KYA", "Asia/Krasnoyarsk", ("красноярский",)),
    ("RU-KGN", "Asia/Yekaterinburg", ("курганская",)),
    ("RU-KRS", "Europe/Moscow", ("курская",)),
    ("RU-LEN", "Europe/Moscow", ("ленинградская",)),
    ("RU-LIP", "Europe/Moscow", ("липецкая",)),
    ("RU-MAG", "Asia/Magadan", ("магаданская",)),
    ("RU-ME", "Europe/Moscow", ("марий эл",)),
    ("RU-MO", "Europe/Moscow", ("мордовия",)),
    ("RU-MOS", "Europe/Moscow", ("московская",)),
    ("RU-MOW", "Europe/Moscow", ("москва",)),
    ("RU-MUR", "Europe/Moscow", ("мурманская",)),
    ("RU-NEN", "Europe/Moscow", ("ненецкий",)),
    ("RU-NIZ", "Europe/Moscow", ("нижегородская",)),
    ("RU-NGR", "Europe/Moscow", ("новгородская",)),
    ("RU-NVS", "Asia/Novosibirsk", ("новосибирская",)),
    ("RU-OMS", "Asia/Omsk", ("омская",)),
    ("RU-ORE", "Asia/Yekaterinburg", ("оренбургская",)),
    ("RU-ORL", "Europe/Moscow", ("орловская",)),
    ("RU-PNZ", "Europe/Moscow", ("пензенская",)),
    ("RU-PER", "Asia/Yekaterinburg", ("пермский",)),
    ("RU-PRI", "Asia/Vladivostok", ("приморский",)),
    ("RU-PSK", "Europe/Moscow", ("псковская",)),
    ("RU-ROS", "Europe/Moscow", ("ростовская",)),
    ("RU-RYA", "Europe/Moscow", ("рязанская",)),
    ("RU-SA", "Asia/Yakutsk,Asia/Vladivostok,Asia/Srednekolymsk", ("саха", "якутия")),
    ("RU-SAK", "Asia/Sakhalin", ("сахалинская",)),
    ("RU-SAM", "Europe/Samara", ("самарская",)),
    ("RU-SPE", "Europe/Moscow", ("санкт-петербург", "петербург")),
    ("RU-SAR", "Europe/Saratov", ("саратовская",)),
    ("RU-SE", "Europe/Moscow", ("северная осетия", "осетия")),
    ("RU-SMO", "Europe/Moscow", ("смоленская",)),
    ("RU-STA", "Europe/Moscow", ("ставропольский",)),
    ("RU-SVE", "Asia/Yekaterinburg", ("свердловская",)),
    ("RU-TAM", "Europe/Moscow", ("тамбовская",)),
    ("RU-TA", "Europe/Moscow", ("татарстан",)),
    ("RU-TOM", "Asia/Tomsk", ("томская",)),
    ("RU-TUL", "Europe/Moscow", ("тульская",)),
    ("RU-TVE", "Europe/Moscow", ("тверская",)),
    ("RU-TYU", "Asia/Yekaterinburg", ("тюменская",)),
    ("RU-TY", "Asia/Krasnoyarsk", ("тыва", "тува")),
    ("RU-UD", "Europe/Samara", ("удмурт",)),
    ("RU-ULY", "Europe/Ulyanovsk", ("ульяновская",)),
    ("RU-VLA", "Europe/Moscow", ("владимирская",)),
    ("RU-VGG", "Europe/Volgograd", ("волгоградская",)),
    ("RU-VLG", "Europe/Moscow", ("вологодская",)),
    ("RU-VOR", "Europe/Moscow", ("воронежская",)),
    ("RU-YAN", "Asia/Yekaterinburg", ("ямало-ненецкий", "ямал")),
    ("RU-YAR", "Europe/Moscow", ("ярославская",)),
    ("RU-YEV", "Asia/Vladivostok", ("еврейская",)),
    ("RU-ZAB", "Asia/Chita", ("забайкальский",)),
    ("", "Europe/Simferopol", ("крым", "севастополь")),
)

_BY_CODE = {code: zones for code, zones, _ in SUBJECTS if code}
_STEMS = sorted(((stem, zones) for _, zones, stems in SUBJECTS for stem in stems), key=lambda s: -len(s[0]))
_SPACES = re.compile(r"\s+")


def region_zones(text: str) -> str | None:
    """Comma-separated IANA zones of a Russian region given by ISO code or name; None if not recognised."""
    value = text.strip()
    if value.upper() in _BY_CODE:
        return _BY_CODE[value.upper()]
    name = _SPACES.sub(" ", value.lower().replace("ё", "е"))
    return next((zones for stem, zones in _STEMS if stem in name), None)
