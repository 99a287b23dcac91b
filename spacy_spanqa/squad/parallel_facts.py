"""Paragraphs of parallel facts: several sentences of one shape that differ in
their entities ("Paris is the capital of France. Berlin is the capital of
Germany. ..."), the shape of price plans, rooms, offices and who leads which
team in company documents.

A reader that matches the answer's type finds a candidate in every sentence;
only the question's entity tells them apart. Each paragraph asks about some
of its entities (the answer is the value in that entity's sentence), the
reverse where the relation has one, and about an entity the paragraph never
mentions (no answer). Train and dev use disjoint halves of every name list,
and dev also has relations training never sees.
"""
import random
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .format import SquadParagraph, SquadQuestion

def _names(text: str) -> List[str]:
    return [name.strip() for name in text.split(",")]


PEOPLE = _names("""Anna Schmidt, Dara Okoye, Tom Berg, Mei Lin, Carlos Ruiz, Priya Nair, Jonas Weber, Sofia Rossi,
Liam Walsh, Aisha Bello, Kenji Sato, Elena Petrova, Omar Haddad, Grace Kim, Lukas Novak, Nora Jensen,
Pedro Alves, Hana Kowalski, Ravi Mehta, Chloe Martin, Yusuf Demir, Ingrid Larsen, Mateo Silva, Zoe Clarke,
Felix Braun, Amara Diallo, Ivan Horvat, Leila Karimi, Oscar Lind, Maya Cohen, Hugo Laurent, Sara Lindqvist""")
TEAMS = _names("""finance, legal, sales, marketing, security, design, support, research, payroll, recruiting,
data, mobile, platform, billing, compliance, procurement, facilities, training, partnerships, analytics""")
CAPITALS = _names("""France:Paris, Germany:Berlin, Italy:Rome, Spain:Madrid, Portugal:Lisbon, Austria:Vienna, Poland:Warsaw,
Sweden:Stockholm, Norway:Oslo, Finland:Helsinki, Denmark:Copenhagen, Ireland:Dublin, Greece:Athens, Hungary:Budapest,
Czechia:Prague, Belgium:Brussels, Netherlands:Amsterdam, Switzerland:Bern, Japan:Tokyo, Kenya:Nairobi, Peru:Lima,
Egypt:Cairo, Canada:Ottawa, Chile:Santiago, Ghana:Accra, Nepal:Kathmandu, Cuba:Havana, Iceland:Reykjavik""")
CITIES = _names("""Lisbon, Toronto, Austin, Osaka, Lyon, Porto, Leeds, Krakow, Dublin, Munich, Seattle, Boston, Denver,
Madrid, Milan, Oslo, Sydney, Auckland, Nairobi, Lagos, Mumbai, Seoul, Zurich, Ghent, Tallinn, Bergen""")
PLANS = _names("Basic, Starter, Team, Business, Premium, Enterprise, Pro, Plus, Family, Student, Growth, Scale")
PRODUCTS = _names("""Falcon drone, Orbit speaker, Nimbus tablet, Atlas backpack, Vega lamp, Pixel camera, Echo kettle,
Terra bike, Comet scooter, Luna watch, Aero fan, Delta drill""")
SHIPPING = _names("Standard, Express, Overnight, Economy, Priority, Freight, Same-day, Weekend")
FLOORS = _names("first, second, third, fourth, fifth, sixth, seventh, eighth, ninth, tenth")
ROOMS = _names("Aurora, Birch, Cedar, Delta, Ember, Fjord, Granite, Harbor, Iris, Juniper, Kestrel, Lagoon")
COMPANIES = _names("""Northwind Labs, Bluefin Systems, Redwood Analytics, Silverline Media, Copperleaf Foods, Quartz Robotics,
Harbor Logistics, Lumen Health, Kitebird Games, Ironbark Energy, Saltmarsh Studio, Pinecrest Bank""")


@dataclass(frozen=True)
class Relation:
    """One shape of fact: sentences about a subject and its value, questions asking for either."""

    name: str
    sentences: Tuple[str, ...]  # with {s} (subject) and {v} (value)
    ask_value: Tuple[str, ...]  # questions whose answer is the value
    ask_subject: Tuple[str, ...] = ()  # questions whose answer is the subject (empty: not asked)


def _numbers(low: int, high: int, fmt: str = "{}") -> List[str]:
    return [fmt.format(n) for n in range(low, high)]


# (relation, subjects, values, values are a function of the subject)
RELATIONS: Dict[str, Tuple[Relation, List[str], List[str], bool]] = {
    "capital": (Relation(
        "capital", ("{v} is the capital of {s}.", "The capital of {s} is {v}."),
        ("What is the capital of {s}?", "Which city is the capital of {s}?"),
        ("{v} is the capital of which country?", "Which country has {v} as its capital?"),
    ), [c.split(":")[0] for c in CAPITALS], [c.split(":")[1] for c in CAPITALS], True),
    "team lead": (Relation(
        "team lead", ("{v} leads the {s} team.", "The {s} team is led by {v}."),
        ("Who leads the {s} team?", "Who is in charge of the {s} team?", "Who heads {s}?"),
        ("Which team does {v} lead?",),
    ), TEAMS, PEOPLE, False),
    "plan price": (Relation(
        "plan price", ("The {s} plan costs {v} per month.", "{s} costs {v} a month."),
        ("How much does the {s} plan cost?", "What is the price of {s}?"),
        ("Which plan costs {v} per month?",),
    ), PLANS, _numbers(5, 95, "${}"), False),
    "office opening": (Relation(
        "office opening", ("Our {s} office opened in {v}.", "The {s} office was opened in {v}."),
        ("When did the {s} office open?", "In which year did we open in {s}?"),
        ("Which office opened in {v}?",),
    ), CITIES, _numbers(1990, 2024), False),
    "shipping time": (Relation(
        "shipping time", ("{s} shipping takes {v} business days.", "With {s} delivery, orders arrive in {v} business days."),
        ("How long does {s} shipping take?", "How many days does {s} delivery take?"),
    ), SHIPPING, _numbers(1, 15), False),
    "room floor": (Relation(
        "room floor", ("Meeting room {s} is on the {v} floor.", "You will find room {s} on the {v} floor."),
        ("Which floor is meeting room {s} on?", "Where is room {s}?"),
    ), ROOMS, FLOORS, False),
    "founder": (Relation(
        "founder", ("{s} was founded by {v}.", "{v} founded {s}."),
        ("Who founded {s}?", "Who started {s}?"),
        ("Which company did {v} found?",),
    ), COMPANIES, PEOPLE, False),
    "product weight": (Relation(
        "product weight", ("The {s} weighs {v} kilograms.", "At {v} kilograms, the {s} is easy to carry."),
        ("How much does the {s} weigh?", "What is the weight of the {s}?"),
    ), PRODUCTS, _numbers(2, 40), False),
    "birthplace": (Relation(
        "birthplace", ("{s} was born in {v}.", "{s} was born and raised in {v}."),
        ("Where was {s} born?", "What is the birthplace of {s}?"),
        ("Who was born in {v}?",),
    ), PEOPLE, CITIES, False),
    "joined": (Relation(
        "joined", ("{s} joined the company in {v}.", "{s} has worked here since {v}."),
        ("When did {s} join the company?", "Since when has {s} worked here?"),
    ), PEOPLE, _numbers(1995, 2025), False),
}
# Relations only dev sees: a reader must tell entities apart in shapes it never trained on.
DEV_ONLY = ("founder", "product weight", "joined")


def parallel_fact_paragraphs(n: int, split: str = "train", seed: int = 0) -> List[SquadParagraph]:
    """`n` paragraphs of 3-10 parallel facts each, with their questions.

    split: "train" (the first half of every name list; relations not in
    DEV_ONLY) or "dev" (the other half; every relation).
    """
    if split not in ("train", "dev"):
        raise ValueError(f"split must be 'train' or 'dev', not {split!r}.")
    rng = random.Random(f"{split}-{seed}")
    names = [r for r in RELATIONS if split == "dev" or r not in DEV_ONLY]
    out = []
    for k in range(n):
        relation, subjects, values, paired = RELATIONS[names[k % len(names)]]
        pairs = _pairs(subjects, values, paired, split, rng)
        size = min(len(pairs), rng.randint(3, 10))
        chosen, unseen = pairs[:size], pairs[size:]
        out.append(_paragraph(relation, chosen, unseen, f"{split}-{k}", rng))
    return out


def _pairs(subjects: Sequence[str], values: Sequence[str], paired: bool, split: str, rng: random.Random):
    """(subject, value) pairs from this split's half of the lists; values distinct."""
    half = slice(0, None, 2) if split == "train" else slice(1, None, 2)
    if paired:
        pairs = list(zip(subjects, values))[half]
    else:
        subs, vals = list(subjects[half]), list(values[half])
        rng.shuffle(vals)
        pairs = list(zip(subs, vals))
    rng.shuffle(pairs)
    return pairs


def _paragraph(relation: Relation, chosen, unseen, pid: str, rng: random.Random) -> SquadParagraph:
    sentences = []
    for s, v in chosen:
        sentences.append(rng.choice(relation.sentences).format(s=s, v=v))
    context = " ".join(sentences)
    questions: List[SquadQuestion] = []
    asked = rng.sample(range(len(chosen)), k=min(len(chosen), 3))
    for n, i in enumerate(asked):
        s, v = chosen[i]
        sentence_start = sum(len(x) + 1 for x in sentences[:i])
        sentence = sentences[i]
        question = rng.choice(relation.ask_value).format(s=s, v=v)
        questions.append(SquadQuestion(f"{pid}-{n}", question, [(v, sentence_start + sentence.index(v))]))
        if relation.ask_subject and rng.random() < 0.5:
            question = rng.choice(relation.ask_subject).format(s=s, v=v)
            questions.append(SquadQuestion(f"{pid}-{n}-r", question, [(s, sentence_start + sentence.index(s))]))
    if unseen:  # an entity of the same kind the paragraph never mentions
        s, v = unseen[0]
        questions.append(SquadQuestion(f"{pid}-none", rng.choice(relation.ask_value).format(s=s, v=v), []))
    return SquadParagraph(f"parallel facts: {relation.name}", context, questions)
