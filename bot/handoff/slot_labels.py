"""How the agent's hand-off summary names a collected slot: the script's `capture: {label: {ru, en}}`, else a
built-in name for the slots scripts commonly use, else the slot's name with its underscores as spaces."""

from __future__ import annotations

from bot.dialog.model import Script

LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "amount": "сумма",
        "promise_amount": "обещанная сумма",
        "promise_date": "дата оплаты",
        "due_date": "срок оплаты",
        "date": "дата",
        "time": "время",
        "visit": "время визита",
        "callback_at": "когда перезвонить",
        "people": "количество человек",
        "interested": "интерес к предложению",
        "comment": "комментарий",
        "complaint_text": "суть жалобы",
        "order_number": "номер заказа",
        "nps": "оценка по шкале от нуля до десяти",
        "csat": "оценка обслуживания",
        "name": "имя",
        "phone": "телефон",
        "email": "электронная почта",
        "address": "адрес",
        "city": "город",
        "product": "продукт",
        "company": "компания",
    },
    "en": {
        "amount": "amount",
        "promise_amount": "promised amount",
        "promise_date": "payment date",
        "due_date": "due date",
        "date": "date",
        "time": "time",
        "visit": "visit time",
        "callback_at": "call back at",
        "people": "number of people",
        "interested": "interested in the offer",
        "comment": "comment",
        "complaint_text": "the complaint",
        "order_number": "order number",
        "nps": "score from zero to ten",
        "csat": "service rating",
        "name": "name",
        "phone": "phone",
        "email": "e-mail",
        "address": "address",
        "city": "city",
        "product": "product",
        "company": "company",
    },
}


def slot_label(script: Script, slot: str, lang: str) -> str:
    """The words naming `slot` in `lang`'s summary."""
    for step in script.steps.values():
        if step.capture and step.capture.slot == slot and step.capture.label and lang in step.capture.label:
            return step.capture.label[lang]
    return LABELS.get(lang, LABELS["en"]).get(slot) or slot.replace("_", " ")
