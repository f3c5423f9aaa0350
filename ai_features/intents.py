"""What a question asks: intents (attendance, missed topics, today's lessons…) and the entities it names.

Entities (subjects by name or code, topics, teachers, weekdays) are matched fuzzily with rapidfuzz, and
only against the student's OWN context: a subject, topic or teacher that is not in this student's
records is never recognised, so an answer can never be about someone else's data. Typos ("atendance",
"comunication skils", "tomorow") and lower case are fine.
"""

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAY_SHORT = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6}
#: Words that never name a subject, topic or teacher by themselves (questions are full of them).
_STOP = (
    "a an and are am at be by can did do does for from give have how i in is it its me my of on or our please "
    "show tell that the their them there they this to was we were what when where which who whom will with "
    "you your he she his her him has had should would could any all about so much many next"
)
STOPWORDS = set(_STOP.split())

#: Keywords per intent: a question word matches one if it is equal, or close enough for its length.
KEYWORDS = {
    "attendance": "attendance attend attended attending absent absence absences present presence late percent "
    "percentage bunked skipped",
    "missed": "miss missed missing",
    "topics": "topic topics syllabus chapter chapters content covered cover covering units unit",
    "understanding": "understanding understand understood grasp rating ratings rated struggling confused",
    "study": "study studying revise revision focus improve prepare preparation catch weak weakest worst "
    "struggle behind priority priorities practice practise concentrate",
    "recommendations": "recommendation recommendations recommend recommended suggestion suggestions suggest advice",
    "timetable": "timetable schedule lessons lesson classes class periods period lectures lecture room rooms",
    "teacher": "teacher teachers teaches teaching taught instructor lecturer sir madam professor tutor",
    "subjects": "subjects subject courses course enrolled enrolment enrollment taking",
    "next": "next upcoming",
    "today": "today tonight todays",
    "tomorrow": "tomorrow tomorrows tmrw tmr tmrow",
    "week": "week weekly weeks",
    "greeting": "hi hello hey hiya namaste greetings morning afternoon evening",
    "help": "help capabilities",
    "thanks": "thanks thank thx cheers",
}
_VOCABULARY = {word: intent for intent, words in KEYWORDS.items() for word in words.split()}


@dataclass
class Parsed:
    intents: list[str] = field(default_factory=list)
    subjects: list[dict] = field(default_factory=list)  # entries of context["subjects"]
    topics: list[tuple[dict, dict]] = field(default_factory=list)  # (subject, topic)
    teachers: list[str] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)
    words: set[str] = field(default_factory=set)  # keyword groups seen (before deciding intents)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'s", "").replace("’s", ""))


def _keyword(token: str) -> str | None:
    """The keyword group a token belongs to, allowing a typo in words of five letters or more."""
    if token in _VOCABULARY:
        return _VOCABULARY[token]
    if len(token) < 5 or token in STOPWORDS:
        return None
    best, score = None, 0.0
    for word, group in _VOCABULARY.items():
        if abs(len(word) - len(token)) > 2 or len(word) < 5:
            continue
        s = fuzz.ratio(token, word)
        if s > score:
            best, score = group, s
    return best if score >= 84 else None


def _weekday(token: str) -> int | None:
    if token in WEEKDAY_SHORT:
        return WEEKDAY_SHORT[token]
    token = token[:-1] if token.endswith("s") and token[:-1] in WEEKDAYS else token
    if len(token) < 5:
        return None
    best = max(range(7), key=lambda d: fuzz.ratio(token, WEEKDAYS[d]))
    return best if fuzz.ratio(token, WEEKDAYS[best]) >= 80 else None


def _phrases(tokens: list[str], most: int) -> list[tuple[int, int, str]]:
    """Every run of 1..most tokens as (start, end, text), skipping runs that start or end on a stopword."""
    out = []
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + most) + 1):
            if tokens[i] in STOPWORDS or tokens[j - 1] in STOPWORDS or "" in tokens[i:j]:
                continue  # (an empty token is one already taken by another entity)
            out.append((i, j, " ".join(tokens[i:j])))
    return out


def _best(tokens: list[str], name: str, *, threshold: float) -> tuple[float, tuple[int, int] | None]:
    """How well some run of the question's tokens matches `name` (0-100), and where."""
    words = _tokens(name)
    if not words:
        return 0.0, None
    best, where = 0.0, None
    for i, j, phrase in _phrases(tokens, len(words) + 1):
        if len(phrase) < 4 and phrase != " ".join(words):
            continue
        score = fuzz.ratio(phrase, " ".join(words))
        if score > best:
            best, where = score, (i, j)
    return (best, where) if best >= threshold else (0.0, None)


def _match_subjects(tokens: list[str], subjects: list[dict], used: set[int]) -> list[dict]:
    found = []
    for subject in subjects:
        code = subject["code"].lower()
        if code in tokens:
            found.append((100.0, subject))
            used.add(tokens.index(code))
            continue
        score, where = _best(tokens, subject["name"], threshold=82)
        if where is None:
            # A subject is often called by its first word ("communication", "maths" for Mathematics).
            first = _tokens(subject["name"])[0] if _tokens(subject["name"]) else ""
            if len(first) >= 6 and first not in _VOCABULARY:
                for k, token in enumerate(tokens):
                    if len(token) >= 5 and token not in STOPWORDS and fuzz.ratio(token, first) >= 85:
                        score, where = 80.0, (k, k + 1)
                        break
        if where is not None:
            found.append((score, subject))
            used.update(range(*where))
    found.sort(key=lambda x: -x[0])
    top = found[0][0] if found else 0
    # A clear winner hides the near misses ("Data Structures" vs "Data Science").
    return [s for score, s in found if score >= top - 8]


def _match_topics(tokens: list[str], subjects: list[dict], within: list[dict], used: set[int]) -> list:
    """Topics named in the question: the whole title, or its part before a colon ("Introduction")."""
    found = []
    pool = within or subjects
    free = [t if k not in used else "" for k, t in enumerate(tokens)]
    for subject in pool:
        for topic in subject.get("topics", []):
            names = {topic["title"]}
            if ":" in topic["title"] and within:  # a stem names a topic only inside a named subject
                names.add(topic["title"].split(":", 1)[0])
            for name in names:
                score, where = _best(free, name, threshold=85)
                if where is not None:
                    found.append((score, subject, topic, where))
                    break
    if not found:
        return []
    top = max(score for score, _s, _t, _w in found)
    kept = [(s, t, where) for score, s, t, where in found if score >= top - 3]
    for _s, _t, where in kept:  # the topic's words are its name, not keywords ("Review and practice")
        used.update(range(*where))
    return [(s, t) for s, t, _where in kept]


def _match_teachers(tokens: list[str], subjects: list[dict], used: set[int]) -> list[str]:
    names = {t for s in subjects for t in s.get("teachers", [])}
    found = []
    free = [t if k not in used else "" for k, t in enumerate(tokens)]
    for name in sorted(names):
        parts = [p for p in _tokens(name) if len(p) >= 3 and p not in ("mr", "mrs", "ms", "dr", "prof")]
        score, _where = _best(free, name, threshold=85)
        if not score:
            # The family name or the first name alone ("Mr Okafor", "ask grace").
            for part in parts:
                if any(len(t) >= 3 and fuzz.ratio(t, part) >= (100 if len(part) < 5 else 83) for t in free):
                    score = 80.0
                    break
        if score:
            found.append((score, name))
    if not found:
        return []
    top = max(score for score, _n in found)
    return [n for score, n in found if score >= top - 5]


def parse(question: str, context: dict) -> Parsed:
    """The intents and entities of a question, matched against this student's context only."""
    tokens = _tokens(question)
    parsed = Parsed()
    subjects = context.get("subjects", [])
    used: set[int] = set()
    parsed.subjects = _match_subjects(tokens, subjects, used)
    parsed.topics = _match_topics(tokens, subjects, parsed.subjects, used)
    parsed.teachers = _match_teachers(tokens, subjects, used)
    for k, token in enumerate(tokens):
        if k in used:
            continue
        if (day := _weekday(token)) is not None and day not in parsed.weekdays:
            parsed.weekdays.append(day)
            continue
        if (group := _keyword(token)) is not None:
            parsed.words.add(group)
    text = " ".join(tokens)
    if "%" in question:
        parsed.words.add("attendance")
    if re.search(r"\b(what|which) (do|does|did|will|should|shall|can) (i|we|they|he|she) (have|got)\b", text) or (
        re.search(r"\bwhen (is|are|do|does|will)\b", text)
    ):
        parsed.words.add("timetable")
    if re.search(r"\b(who|whos|who is) (teach|teaches|takes|is)\b|\bwho\b.*\b(teach\w*|taught)\b", text):
        parsed.words.add("teacher")
    if re.search(r"\bwhat (does|do|did) \w+( \w+)? (teach|take)\b", text):
        parsed.words.add("teacher")
    if re.search(r"\b(anything|what) .*\b(i|we|they|he|she) (miss|missed)\b|\bmiss(ed)? (anything|something)\b", text):
        parsed.words.add("topics")
    if re.search(
        r"\bhow many (lessons|classes|periods|days)\b|\bhow (often|regularly)\b|\b(been|gone|went) to\b", text
    ):
        parsed.words.add("attendance")
    if (
        re.search(r"\bhow am i doing\b|\bdoing (ok|okay|well|fine|alright)\b|\bon track\b", text)
        and not parsed.subjects
    ):
        parsed.words.add("study")
    if re.search(r"\bwhat (next|now)\b|\bstudy next\b|\bwork on\b|\bfocus on\b|\bneeds? attention\b", text):
        parsed.words.add("study")
    parsed.intents = _decide(parsed, text)
    return parsed


def _decide(p: Parsed, text: str) -> list[str]:
    """From keyword groups and entities to the intents to answer, the most specific first."""
    w, intents = p.words, []

    def add(name: str) -> None:
        if name not in intents:
            intents.append(name)

    if "missed" in w and ("topics" in w or p.topics) and "attendance" not in w:
        add("missed_topics")
    elif "topics" in w and "attendance" not in w:
        add("missed_topics" if "missed" in w else "topics")
    if "study" in w or ("next" in w and not ({"timetable"} & w) and not p.weekdays and "today" not in w):
        add("study")
    if "recommendations" in w and "study" not in intents:
        add("recommendations")
    if "understanding" in w:
        add("understanding")
    if "attendance" in w or ("missed" in w and "missed_topics" not in intents):
        add("attendance_week" if "week" in w and "timetable" not in w else "attendance")
    if "teacher" in w or (p.teachers and not p.subjects and not intents):
        add("teacher")
    if "next" in w and ("timetable" in w or p.subjects) and "study" not in intents:
        add("next_lesson")
    elif p.weekdays:
        add("weekday")
    elif "today" in w or "tomorrow" in w:
        if "today" in w:
            add("today")
        if "tomorrow" in w:
            add("tomorrow")
    elif "timetable" in w and not intents:
        add("week" if "week" in w else ("next_lesson" if p.subjects else "today_and_tomorrow"))
    if "subjects" in w and not intents and not p.subjects:
        add("subjects")
    if p.topics and not intents:
        add("topic")
    if p.subjects and not intents:
        add("subject")
    if not intents and "greeting" in w:
        add("greeting")
    if not intents and "help" in w:
        add("help")
    if not intents and "thanks" in w:
        add("thanks")
    return intents
