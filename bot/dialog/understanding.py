"""What a caller's words mean beyond their intent: corrections said in one breath, negation, questions back.

"нет, то есть да" is a yes; "пятнадцатого, ой, двадцатого" is the twentieth: a caller who corrects themselves
means what they said last, so only the words after the last correction are classified and parsed. "не завтра"
names no date, and "а что значит от нуля до десяти" answers nothing: values are not taken from negated words
or from questions.
"""

from __future__ import annotations

import re

_CORRECTIONS = {
    "ru": (
        "то есть",
        "ой",
        "вернее",
        "точнее",
        "в смысле",
        "ой нет",
        "нет стоп",
        "стоп",
        "поправлюсь",
        "нет лучше",
        "или нет",
        "пусть будет",
    ),
    "en": (
        "i mean",
        "sorry i mean",
        "no wait",
        "wait no",
        "or rather",
        "correction",
        "scratch that",
        "no make it",
        "actually no",
        "no actually",
        "let's say",
    ),
}
_CORRECTION = {
    lang: re.compile(r"\b(?:" + "|".join(re.escape(m) for m in sorted(marks, key=len, reverse=True)) + r")\b")
    for lang, marks in _CORRECTIONS.items()
}
_NEGATIONS = {
    "ru": {"не", "нет", "неа", "нету", "ни", "никак", "никогда", "нельзя", "невозможно", "отказываюсь"},
    "en": {
        "no",
        "not",
        "nope",
        "never",
        "cannot",
        "cant",
        "wont",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "couldnt",
        "wouldnt",
        "havent",
        "nah",
        "refuse",
    },
}


def corrected(text: str, lang: str) -> str:
    """The words after the caller's last self-correction (the whole text when there is none, or nothing
    follows it)."""
    lowered = text.lower()
    marks = list(_CORRECTION.get(lang, _CORRECTION["ru"]).finditer(lowered))
    if not marks or not re.search(r"\w", lowered[: marks[-1].start()]):
        return text  # nothing said before it to correct ("ой нет подождите")
    rest = text[marks[-1].end() :].strip(" ,.;:-—!?")
    return rest if re.search(r"\w", rest) else text


# Said to reassure, not to negate: "yep, it'll be paid, don't worry".
_REASSURING = {
    "ru": (
        "не волнуйтесь",
        "не переживайте",
        "не беспокойтесь",
        "не сомневайтесь",
        "нет проблем",
        "не вопрос",
    ),
    "en": ("dont worry", "no worries", "no problem", "not a problem", "no doubt"),
}


def has_negation(text: str, lang: str) -> bool:
    """Whether the caller negated anything ("не смогу", "no", "can't"; not "не волнуйтесь", "no worries")."""
    joined = f" {' '.join(_words(text))} "
    for phrase in _REASSURING.get(lang, ()):
        joined = joined.replace(f" {phrase} ", " ")
    return bool(_NEGATIONS.get(lang, _NEGATIONS["ru"]) & set(joined.split()))


_NEGATING = {
    "ru": {"не", "ни"},
    "en": {"not", "never", "cant", "cannot", "dont", "doesnt", "didnt", "wont", "isnt", "couldnt"},
}
_THAT = {"то", "тот", "та", "те", "это", "that", "this"}
_FILLERS = {"а", "ну", "ээ", "эээ", "так", "и", "ой", "oh", "um", "uh", "so", "and", "well", "but"}
_QUESTION_WORDS = {
    "ru": {
        "что",
        "чего",
        "как",
        "какой",
        "какая",
        "какое",
        "какие",
        "сколько",
        "почему",
        "зачем",
        "кто",
        "где",
    },
    "en": {"what", "whats", "how", "why", "who", "whos", "which", "where"},
}
# "как насчёт пятницы", "what about friday" propose a value; "как только получу" is "as soon as"
_NOT_ASKING = {"насчет", "about", "только", "раз"}
# After a negating particle these go with the negated word: "не к двадцатому", "not by tomorrow".
_FUNCTION_WORDS = {"к", "до", "в", "во", "на", "с", "по", "by", "on", "at", "in", "to", "the", "for", "until"}


def without_negated(text: str, lang: str) -> str:
    """The text without each negating particle and the word it negates, with its preposition ("не завтра а
    в пятницу" → "а в пятницу", "not by tomorrow" → ""), so a value the caller rejected is not taken as said."""
    negating = _NEGATING.get(lang, _NEGATING["ru"])
    kept: list[str] = []
    skipping = False
    for word in _words(text):
        if word in negating:
            skipping = True
        elif skipping:
            skipping = word in _FUNCTION_WORDS  # the preposition goes, and the word after it too
        else:
            kept.append(word)
    return " ".join(kept)


def negates_a_word(text: str, lang: str) -> bool:
    """Whether a negating particle is said ("не получится", "not by then"), beyond a bare "нет"/"no" and "не то"
    ("not that one")."""
    words = _words(text)
    negating = _NEGATING.get(lang, _NEGATING["ru"])
    return any(
        word in negating and (i + 1 == len(words) or words[i + 1] not in _THAT)
        for i, word in enumerate(words)
    )


def is_question(text: str, lang: str) -> bool:
    """Whether the caller asks something back ("а сколько там", "what do you mean") instead of answering."""
    words = [w for w in _words(text) if w not in _FILLERS]
    if not words or words[0] not in _QUESTION_WORDS.get(lang, _QUESTION_WORDS["ru"]):
        return False
    return not (len(words) > 1 and words[1] in _NOT_ASKING)


def _words(text: str) -> list[str]:
    return [w.replace("'", "") for w in re.findall(r"[\w'-]+", text.lower().replace("ё", "е"))]


_YES = {
    "ru": {"да", "ага", "угу", "конечно", "давайте", "давай", "хорошо", "ладно", "можно", "окей", "ок", "согласен",
           "согласна", "верно", "точно", "естественно", "разумеется", "пожалуй", "интересно", "подтверждаю", "именно",
           "доволен", "довольна", "довольны"},
    "en": {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "alright", "certainly", "absolutely", "definitely",
           "right", "correct", "fine", "go", "please", "indeed", "exactly", "satisfied", "happy"},
}  # fmt: skip
_NO = {"ru": {"нет", "неа", "нету"}, "en": {"no", "nope", "nah"}}
_NOT_WANTED = {
    "ru": ("не интересно", "неинтересно", "не надо", "не нужно", "не сейчас", "не хочу", "не буду"),
    "en": ("not interested", "not now", "no thanks", "not today", "dont want", "dont need"),
}
# Phrases that mean yes although they hold a "no"/"not", or hold no yes word at all.
# The person asked for saying it is them: "да это я", "yes speaking".
_ITS_ME = {"ru": ("это я", "он самый", "она самая"), "en": ("thats me", "its me", "speaking")}
_YES_PHRASES = {
    "ru": ("почему бы и нет", "почему нет", "нет проблем", "без проблем", "не вопрос", "не против", "не возражаю",
           "не откажусь", "не помешает", *_ITS_ME["ru"]),
    "en": ("why not", "no problem", "no worries", "not a problem", "i dont mind", "wouldnt say no", "i suppose so", "i guess so",
           "i think so", *_ITS_ME["en"]),
}  # fmt: skip
# A hedge right before the last word lets it decide: "ну не знаю, наверное да", "i don't know, probably no".
_HEDGES = {"наверное", "наверно", "скорее", "пожалуй", "думаю", "probably", "guess", "think", "maybe"}
# "Можно попозже", "давайте позже", "ok but later": the yes word grants a later time, not the question.
_LATER = {"ru": {"позже", "попозже", "потом"}, "en": {"later"}}
# Words that ask not to be called again without a negation: "хватит звонить", "remove my number".
_STOP_CALLING = {
    "ru": {"хватит", "прекратите", "перестаньте", "удалите", "уберите", "вычеркните", "отпишите", "надоели"},
    "en": {"stop", "remove", "delete", "unsubscribe", "off"},
}
# Openers and hedges before the answer: "ну наверное да", "maybe yeah" are a yes.
_OPENERS = {
    "ну", "ээ", "эээ", "а", "алло", "ой", "так", "наверное", "наверно", "думаю", "вроде", "скорее", "пожалуй",
    "well", "um", "uh", "oh", "hello", "hi", "mm", "hmm", "maybe", "probably", "i", "guess", "think",
}  # fmt: skip


def yes_or_no(text: str, lang: str) -> bool | None:
    """A plain yes or no read from the words themselves, for a yes/no question the classifier did not place:
    "sure why not", "да интересно расскажите", "ну наверное да" → True; "нет я сейчас в другом городе", "not
    now thanks" → False; anything else → None."""
    joined = " ".join(_words(text))
    if any(phrase in joined for phrase in _NOT_WANTED.get(lang, ())):
        return False
    for phrase in _YES_PHRASES.get(lang, ()):  # "sure why not", "that's me": a yes
        joined = f" {joined} ".replace(f" {phrase} ", " да " if lang == "ru" else " yes ").strip()
    text = joined
    words = joined.split()
    if len(words) > 1 and words[-2] in _HEDGES and words[-1] in _YES.get(lang, set()) | _NO.get(lang, set()):
        return words[-1] in _YES.get(lang, set())
    content = [w for w in words if w not in _OPENERS]
    if content == ["я"]:  # "ну я" to "это Иван?"
        return True
    if not content:
        return None
    if content[0] in _NO.get(lang, set()):
        return False
    if (
        content[0] in _YES.get(lang, set())
        and not has_negation(text, lang)
        and not _LATER.get(lang, set()) & set(words)
    ):
        return True
    return None


def refuses_calls(text: str, lang: str) -> bool:
    """Whether the words could ask not to be called: a negation ("не звоните") or a stop word ("хватит")."""
    return has_negation(text, lang) or bool(_STOP_CALLING.get(lang, set()) & set(_words(text)))


def says_its_me(text: str, lang: str) -> bool:
    """Whether the caller says they are the person asked for ("да это я иван", "yes speaking")."""
    joined = f" {' '.join(_words(text))} "
    return any(f" {phrase} " in joined for phrase in _ITS_ME.get(lang, ()))


def says_yes(text: str, lang: str) -> bool:
    """Whether any yes word or yes phrase is said ("ну да", "почему бы и нет", "i don't mind")."""
    joined = f" {' '.join(_words(text))} ".replace(" right now ", " ").replace(" right away ", " ")
    return bool(_YES.get(lang, set()) & set(joined.split())) or any(
        f" {phrase} " in joined for phrase in _YES_PHRASES.get(lang, ())
    )


# "There's no Ann here", "тут таких нет": the person asked for is not at this number.
_ABSENT = {
    "ru": re.compile(
        r"\b(?:здесь|тут) (?:нет|не живет|не проживает) (?:никак\w*|так\w*)\b|\bнет (?:здесь|тут) (?:никак\w*|так\w*)\b"
        r"|\b(?:здесь|тут) (?:таких|такой|такого|никого) (?:нет|не живет|не проживает)\b"
    ),
    "en": re.compile(
        r"\b(?:theres|there is) no(?: one| body)? \w+(?: \w+)? (?:here|at this number|in this house)\b"
        r"|\bno \w+ lives here\b"
    ),
}


def names_someone_absent(text: str, lang: str) -> bool:
    """Whether the caller says the person asked for is not here ("there's no Ann here", "тут таких нет")."""
    return bool(_ABSENT.get(lang, _ABSENT["ru"]).search(" ".join(_words(text))))


# "Не звоните мне больше", "don't call me with sales offers again": asked outright, whatever else is said.
_NO_MORE_CALLS = {
    "ru": re.compile(
        r"\b(?:больше |никогда )?не (?:звоните|звонить|названивайте|беспокойте)(?: мне| нам| сюда| на этот номер)?"
        r"(?: больше| никогда| сюда)?\b|\b(?:перестаньте|прекратите|хватит) (?:мне |нам |сюда )?(?:звонить|названивать)\b"
        r"|\bудалите (?:мой |этот )?номер\b"
    ),
    "en": re.compile(
        r"\b(?:dont|do not|never) (?:ever )?(?:call|ring|phone) (?:me|us|here|this number)\b"
        r"|\bstop (?:calling|ringing|phoning)\b|\b(?:remove|delete|take) (?:me|my number)\b"
    ),
}
# "Не звоните мне завтра, лучше в пятницу": a call at another time, not a refusal of calls.
_ANOTHER_TIME = {
    "ru": ("лучше", "перезвоните", "позвоните", "завтра", "вечером", "утром", "после"),
    "en": ("instead", "later", "tomorrow", "tonight", "after", "before", "back"),
}


def asks_no_more_calls(text: str, lang: str) -> bool:
    """Whether the caller asks outright not to be called again ("не звоните мне больше", "stop calling", "don't
    call me with offers again"), not for a call at another time ("не звоните завтра, лучше в пятницу")."""
    joined = " ".join(_words(text))
    if not _NO_MORE_CALLS.get(lang, _NO_MORE_CALLS["ru"]).search(joined):
        return False
    return not set(_ANOTHER_TIME.get(lang, ())) & set(joined.split())


# A caller closing the call with nothing more to say: "всё спасибо", "nothing else bye", "that's all thanks".
_CLOSING = {
    "ru": {
        "thanks": {"спасибо", "благодарю", "спасибочки"},
        "more": {"большое", "огромное", "вам"},
        "bye": {"до", "свидания", "пока", "всего", "доброго", "хорошего", "всё", "все", "больше", "ничего",
                "это", "вопросов", "нет"},
    },
    "en": {
        "thanks": {"thanks", "thank", "cheers"},
        "more": {"very", "much", "so", "lot"},
        "bye": {"bye", "goodbye", "nothing", "else", "thats", "all", "it", "have", "a", "nice", "good", "day", "no",
                "more", "questions", "you"},
    },
}  # fmt: skip
_FAREWELL = {
    "ru": {"свидания", "пока", "доброго", "хорошего", "всё", "все"},
    "en": {"bye", "goodbye", "all", "else"},
}


def closing(text: str, lang: str) -> list[str]:
    """What words that only close the call say, "thanks" and/or "goodbye" ("всё спасибо", "nothing else bye",
    "спасибо до свидания"); empty for anything else."""
    words = set(_words(text)) - _OPENERS
    kinds = _CLOSING.get(lang, _CLOSING["ru"])
    if not words or not words <= kinds["thanks"] | kinds["bye"] | kinds["more"]:
        return []
    said = ["thanks"] if words & kinds["thanks"] else []
    return said + (["goodbye"] if words & _FAREWELL.get(lang, set()) else [])


# Words that ask for a person, beside the person asked for: "соедините с оператором", "can i talk to someone".
_ASKING_FOR = {
    "ru": {"соедините", "соединить", "переключите", "переключить", "позовите", "позвать", "дайте", "хочу", "можно",
           "нужен", "нужна", "свяжите", "поговорить", "пожалуйста", "давайте", "живого", "живой", "человеком"},
    "en": {"connect", "transfer", "speak", "talk", "put", "get", "want", "need", "can", "could", "please", "human",
           "real", "someone", "somebody"},
}  # fmt: skip


def asks_for_someone(text: str, lang: str) -> bool:
    """Whether the words ask for a person ("оператора пожалуйста", "can i talk to someone") rather than mention
    one ("вежливые операторы", "the agent was rude"); a name said alone ("оператор") asks too."""
    words = [w for w in _words(text) if w not in _OPENERS]
    return len(words) <= 1 or bool(_ASKING_FOR.get(lang, _ASKING_FOR["ru"]) & set(words))


# "Call me on friday morning", "перезвоните завтра": a call at another time asked for outright.
_CALL_ME_THEN = {
    "ru": re.compile(
        r"\bперезвоните\b|\bпозвоните (?:мне |нам )?(?:завтра|позже|попозже|потом|вечером|утром|"
        r"через|после|в|во|на)\b"
    ),
    "en": re.compile(r"\b(?:call|ring) (?:me|us) (?:back|later|tomorrow|tonight|on|at|in|after|next|this)\b"),
}


def asks_to_call_later(text: str, lang: str) -> bool:
    """Whether the caller asks outright to be called at another time ("call me on friday morning",
    "перезвоните завтра"), not to stop calls ("не перезванивайте")."""
    joined = " ".join(_words(text))
    if asks_no_more_calls(text, lang):
        return False
    return bool(_CALL_ME_THEN.get(lang, _CALL_ME_THEN["ru"]).search(joined))
