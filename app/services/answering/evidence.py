"""Whether the retrieved sentences answer the question, or only talk about the same things.

A question close to the articles' topic ("How much did Zuckerberg give personally?") retrieves
passages about the same people, so similarity alone cannot tell an answer from a near miss.
Checks that hold in either language, because words are compared through the multilingual
embedder ("Democrats" matches "démocrates", "June" matches "juin"):

- names and figures: every name the question asks about, and every figure it is set in, appears
  in each article the answer quotes (an article about Sam Altman's donation does not answer for
  Mark Zuckerberg's, nor one that never mentions "Musk's $97 billion offer" how it was received);
- answer type: a "how much" question needs a number the question does not already hold, a
  "what percentage" question a percentage, a "what year" / "when" question a date, a "what is
  the name" or "where" question a name, a "how often" question a frequency ("toutes les vingt
  minutes", "twice a day");
- the thing asked about: "how many employees" needs a sentence that speaks of employees, not of
  dollars, and "the names of the two models" one that names models, not an offer;
- years: a question set in a year ("Altman's 2019 fundraiser") is answered by a sentence that
  states that year, not by one about another time;
- time frame: a question about what was or what happened ("Combien de salariés travaillaient à
  l'usine avant sa fermeture ?") is not answered by a sentence that states only a plan or what
  will be ("Ardelis prévoit d'y embaucher 340 salariés d'ici 2026"): its figure is the plan's;
- coverage: on average, the question's words find a close word in the evidence sentence, the
  words that are not names weighing more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np

from vectorstore.tokens import ELISION, STOPWORDS, fold, fold_text, fold_word, stem, surface_words

AnswerType = Literal["name", "place", "frequency", "quantity", "percent", "year", "date"]
_FIGURE_TYPES: frozenset[AnswerType | None] = frozenset(
    {"frequency", "quantity", "percent", "year", "date"}
)

# Words that frame a question rather than say what it is about.
_FRAME = frozenset(
    fold(w)
    for w in """
combien quel quelle quels quelles comment pourquoi quand qui quoi lequel laquelle lesquels dont
selon article articles dit disent cite how much many what which who whom whose when where why
did does according say says said tell name called
""".split()
)

# The verbs that ask where a thing is ("Où se trouve Mar-a-Lago ?", "Where is OpenAI based?"):
# after "où" / "where" they frame the question, and a sentence that says where the thing is
# need not repeat them (« au club privé de Donald Trump à Mar-a-Lago, ... à Palm Beach »
# covered 0.85 of « Où se trouve Mar-a-Lago ? » with "trouve" counted, and scored under the
# threshold). "In which US state are the Stargate sites located?" keeps its verb: the kind of
# place it asks for is named, and « aux Etats-Unis » is no state (q093, unanswerable).
_WHERE = r"^ou\b|\bwhere\b"  # in the folded question's first words ("ou" is also "or")
_ACCENTED_WHERE = re.compile(r"(?<!\w)où(?!\w)")  # "Savez-vous où ...", never "or"
_PLACE_FRAME = frozenset(
    fold(w)
    for w in """
trouve trouvent trouvait situe situee situes situees situent implante implantee implantes
implantees installe installee installes installees base basee bases basees located situated
based headquartered
""".split()
)

# What a "which ..." question asks the name of when it asks for a person or an organisation
# ("Which Ukrainian president", "Quelle société aérospatiale"): the answer is a name.
_ROLES = (
    r"presidents?|candidats?|candidates?|hopefuls?|avocats?|lawyers?|economistes?|economists?"
    r"|chairman|chairs?|pdg|ceos?|dirigeants?|founders?|fondateurs?|companies|company|firms?"
    r"|entreprises?|societes?|startups?|start-ups?|publications?|newspapers?|journal|journaux"
    r"|magazines?|clubs?|ministres?|ministers?|senateurs?|senators?"
)
# An amount asked by its name, in the folded question ("quelle valorisation", "quel est le
# salaire annuel", "what is Sam Altman's annual salary"): a quantity, priced, and the name is
# the thing it is of (an offer's amount is no valuation). Asked from the question's start.
# Only names that stand for an amount alone: "budget" and "revenue" head other things as
# often ("budget cuts", "la part du budget", "revenue model").
_NAMED_AMOUNT = re.compile(
    r"\b(?:(?:quel(?:le)?s?|what) |(?:quel(?:le)?s? (?:est|etait|sera|a ete|sont)"
    r"|what(?:'s| is| was| will be| are| were)) (?:[\w'’-]+ ){0,3}?)"
    r"(valorisations?|salaires?|valuations?|salar(?:y|ies))\b"
)
_WANTS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "name",
        re.compile(
            r"\b(?:comment s['’ ]?(?:appelle|appellent|nomme|nomment)|quel est (?:le|son) nom"
            r"|quels sont (?:les|leurs) noms|what (?:is|are|was|were) (?:the|its|their|his|her)"
            r" names?\b|what's the name"
            # who holds a role, which organisation: a person's or a company's name
            r"|^(?:\w+ ){0,3}(?:who (?:is|was) (?:the|an?)|qui (?:est|etait) (?:le|la|l['’ ]))"
            r"|\b(?:which|quel|quelle|quels|quelles) (?:[\w'’-]+ ){0,3}?(?:" + _ROLES + r")\b)"
        ),
    ),
    (
        "place",
        re.compile(
            _WHERE + r"|\b(?:in|to|from) (?:which|what) (?:\w+ )?(?:country|city|town|state)\b"
            r"|\b(?:dans|de|vers) quel(?:le)? (?:pays|ville|etat|region)\b"
        ),
    ),
    (
        "percent",
        re.compile(r"\b(?:pourcentage|quel taux|percentage|what percent|how many percent)"),
    ),
    ("year", re.compile(r"\b(?:en quelle annee|quelle annee|what year|which year)\b")),
    (
        "date",
        re.compile(
            r"\b(?:quand|a quelle date|quelle est la date|date de naissance|depuis quand|when"
            r"|what date|what is the date|date of birth|since when)\b"
        ),
    ),
    (  # before "quantity": "combien de fois par semaine" asks how often
        "frequency",
        re.compile(
            r"\b(?:how often|how frequently|how many times (?:a|an|per|each)|a quelle frequence"
            r"|tous les combien|combien de fois par|a quel rythme)\b"
        ),
    ),
    (
        "quantity",
        re.compile(
            r"\b(?:combien|quel montant|quelle somme|quel prix"
            r"|quel (?:est|etait|sera) le (?:montant|prix)"
            r"|how much|how many|what amount|what sum|what price|que co[uû]te"
            r"|what (?:is|was|will be) (?:the|its|their|his|her) (?:[\w'’-]+ ){0,2}?"
            r"(?:price|cost|amount|fee|fare|toll)"
            r"|what (?:does|did|will|would) (?:[\w'’-]+ ){1,3}?cost)\b"
        ),
    ),
]
_NUMBER = re.compile(
    r"\d+(?:[.,]\d+)?|\b(?:un|une|one|a) (?:dollar|euro)\b"
    r"|\b(?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze"
    r"|vingt|trente|quarante|cinquante|cent|cents|mille|millions?|milliards?|two|three|four"
    r"|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|millions?|billions?)\b"
)
# A question that asks what something costs, is worth or what was paid ("Combien coûte le
# péage ...", "How much is the contract worth?", "Quel montant ...") is answered by an amount
# of money, not by any figure: "Le pont de Kerlouan fermé six mois pour travaux" does not
# price its toll (F19). Matched in the folded question; "pays" is left out (French for
# "country").
_PRICED = re.compile(
    r"\b(?:cout\w*|prix|tarifs?|payer|paye\w*|paie\w*|montant|somme|budget|frais|peage"
    r"|vaut|val(?:ent|ait|aient|oir|eur)|costs?|costing|price[sd]?|pricing|fees?|fares?|tolls?"
    r"|pay|paid|amount|sum|worth|value[sd]?)\b"
)
# An amount of money: a figure (digits or number words) then, within two words ("millions",
# "d'"), a currency; "un dollar"; a currency sign before digits; or "free" ("gratuit").
_CURRENCY = r"(?:euros?|€|dollars?|\$|livres?|£|francs?|chf|centimes?|yuans?|yens?|usd|eur)"
_MONEY = re.compile(
    rf"(?:{_NUMBER.pattern})(?:\s+(?:de\s+|d['’]\s*)?[\w-]+){{0,2}}?\s*(?:de\s+|d['’]\s*|of\s+)?"
    rf"{_CURRENCY}(?!\w)|\b(?:un|une|one|a) (?:dollar|euro)\b|[$€£]\s?\d|\bgratuit|\bfree\b"
)
# How often something happens: "toutes les vingt minutes", "deux fois par jour", "every
# hour", "daily" (matched in folded text).
_FREQUENCY = re.compile(
    r"\b(?:tou(?:te)?s les|chaque|every|each|par (?:jour|nuit|semaine|mois|an|annee|heure)"
    r"|per (?:day|night|week|month|year|hour)|fois par|times? (?:a|an|per)"
    r"|(?:a|an) (?:day|night|week|month|year|hour)|quotidien\w*|hebdomadaire\w*|mensuel\w*"
    r"|annuel\w*|daily|nightly|weekly|monthly|yearly|annually|hourly)\b"
)
# A figure the question is set in ("Musk's $97 billion offer"): its first group of digits, two at
# least, since one is often spelled out in the article ("$1 million", "un million"); so "97" is
# in "97,4 milliards", and "$1,000" holds no figure.
_FIGURE = re.compile(r"(?<![\d.,])\d{2,}")
_QUESTION_START_WORDS = 5  # a question word further in is a conjunction ("... when he ...")
_COGNATE_PREFIX = 5
_PERCENT = re.compile(r"%|\bpour ?cent\b|\bpercent\b")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre"
    r"|octobre|novembre|decembre|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|hier"
    r"|demain|prochain|prochaine|dernier|derniere|january|february|march|april|may|june|july"
    r"|august|september|october|november|december|yesterday|tomorrow|next|last)\b"
)
# A capitalised word inside the question (not its first word), without a possessive 's.
_NAME = re.compile(r"(?<=[\w,;:)»”\"]\s)([A-ZÀ-ÖØ-Þ][\w-]*\w)(?:['’]s)?")
_MIN_NAME_LENGTH = 3
NAME_WEIGHT = 0.25  # in coverage; chosen on both question sets, see README "Evaluation"
# Months and days are capitalised in English but are dates, not names ("last March": "mars").
_NOT_NAMES = frozenset(
    """
january february march april may june july august september october november december monday
tuesday wednesday thursday friday saturday sunday
""".split()
)
# A run of words with a capital inside a sentence ("Grok", "xAI", "Elon Musk", "d’OpenAI"); a
# name is new to the question when no word of its run is asked, or its cognate ("Elon" in "Elon
# Musk" is Musk, asked about; "Pentagone" is the Pentagon asked about) and one is of three
# letters or more: two-letter capitals are common nouns in French ("IA", "UE").
_CAPITALISED_WORD = r"[\w-]*[A-ZÀ-ÖØ-Þ][\w-]*"
# A sentence's first word is capitalised whatever it is: in a text of two sentences (a sentence
# read with the one it refers back to: `antecedents.py`), "... semaines. Il a dormi" names no one.
_CAPITALISED = re.compile(
    rf"(?<=[\s'’])(?<![.!?…»”«“]\s){_CAPITALISED_WORD}(?:\s+{_CAPITALISED_WORD})*"
)
# What a question counts or asks the name of: the words after these, up to a stop word. Its head
# is the first of them in French ("combien d'employés fédéraux"), the last in English ("how many
# federal employees").
# What a price is asked of counts too: "combien coûte le péage", "le prix de l'inscription",
# "how much did the renovation cost": a figure about the works does not price the toll (F19).
# So does what a date is asked of: "la date de naissance de Sam Altman" is not the date of a
# photograph of him.
_THING_FR = re.compile(
    r"\b(?:combien d(?:e\s+|['’]\s*)|comment s['’ ]?(?:appellent|appelle|nomment|nomme)\s+"
    r"|quels? (?:est|sont) (?:le|les) noms? d(?:e\s+|['’]\s*|u\s+|es\s+)"
    r"|combien (?:a |ont )?co[uû]t(?:e|é|ent|era|eront|ait|aient)(?:-t-(?:il|elle))?\s+"
    r"|quel(?:le)? (?:est|était|etait|sera) (?:le|la) (?:prix|co[uû]t|montant|tarif)"
    r" d(?:e\s+|['’]\s*|u\s+|es\s+)|\bdate d(?:e\s+|['’]\s*|u\s+|es\s+))(.*)",
    re.IGNORECASE,
)
_THING_EN = re.compile(
    r"\b(?:how many\s+|names? of\s+|(?:price|cost|date) of\s+"
    r"|how much (?:does|did|will|would) (?=.*\bcost\b))(.*?)(?:\s+cost\b.*)?$",
    re.IGNORECASE,
)
_NOT_A_THING = frozenset({"argent", "fois", "temps", "money", "time", "times"})

# The time frame (F19: 3 of 6 questions of that kind were answered with a figure that answers
# something else, among them future hires for the workforce before a closure). What was, in
# lower-case text with its accents (they tell "a coûté" from "a coute"):
# - the imparfait ("travaillaient", "coûtait", "était"), not the conditional, which ends in
#   -rait like a few imparfaits ("entrait") that are left out with it: a question in the
#   conditional ("combien coûterait ...") asks what would be;
# - the passé composé with "avoir" ("a coûté", "ont-ils proposé", "a-t-il déjà dit");
# - in English, "did", "was", "were", "had", "used to", or a verb in -ed after what is counted
#   ("how many employees worked").
_IMPARFAIT = (
    r"\b(?!(?:fait|parfait|forfait|bienfait|méfait|souhait|lait|plait|plaît)\b)"
    r"\w+[^r\W]ai(?:t|ent)\b"
)
_AUXILIARY = r"\b(?:a|ont|avait|avaient)(?:-t-(?:il|elle|on)|-(?:il|elle|ils|elles|on))?\s+"
_PAST = re.compile(
    rf"{_IMPARFAIT}|{_AUXILIARY}(?:\w+\s+)?\w+(?:é|ée|és|ées|i|is|it|u|ert|erts)\b"
    r"|\b(?:did|was|were|had|used to)\b|\bhow many (?:\w+ ){1,3}\w+ed\b"
)
# What a text states of the past, surely: the imparfait, the passé composé with a participle
# in -é ("a levé", "ont coûté"), "was", "were", "had". Narrower than `_PAST`, whose
# participles in -i, -is, -it also read "à Paris", "il y a six mois" or "a deficit" as past:
# a sentence is kept from a question about what could be only on this.
_WAS = re.compile(rf"{_IMPARFAIT}|{_AUXILIARY}(?:\w+\s+)?\w+(?:é|ée|és|ées)\b|\b(?:was|were|had)\b")
# What is planned or will be, in folded text: the plan's verbs ("prevoit d'embaucher",
# "envisage", "projette", "compte ouvrir"), a deadline ("d'ici la fin de l'annee",
# "a l'horizon 2030", "by the end of"), the future tense ("embauchera", "seront", "rouvrira",
# "will"), an expectation ("plans to", "is expected to").
_PLANNED = re.compile(
    r"\b(?:prevoi(?:t|ent|r|yait|yaient)|projette(?:nt)?|envisage(?:nt|ait|aient)?"
    r"|compte(?:nt)? (?:d['’ ])?\w+(?:er|ir)\b|d['’ ]ici\b|a l['’ ]horizon"
    r"|plans? to|planning to|planned|intends? to|aims? to|expects? to|(?:is|are) expected to"
    r"|will|by the end of"
    r"|(?!(?:camera|opera|riviera|sierra|era)\b)\w{2,}(?:era|eront|ira|iront|dra|dront|rra|rront)"
    r"|sera|seront|aura|auront|fera|feront|devra|devront)\b"
)
# A question about what could or will be, in folded text: a plan or the future (`_PLANNED`),
# a modal in the conditional ("pourrait", "could", "might"), what comes next ("sa prochaine
# levée de fonds", "next round", "à venir", "future").
_PROSPECTIVE = re.compile(
    rf"{_PLANNED.pattern}|\b(?:pourrai(?:t|ent)|could|might|prochaine?s?|next|upcoming|a venir"
    r"|futur(?:e|es|s)?|future)\b"
)
# What keeps a text open to what could be, in folded text: a plan or the future, the
# conditional ("pourrait", "aurait injecté", "investirait"; the imparfait of verbs in -rer,
# "entrait", matches too and is left in), a modal, an aim, a plan told in the past or a
# forecast ("vise", "va lever", "comptait lever", "prévu", "attendu", "expected"), a date
# moved ("repoussée à 2027"), an announcement or a promise (told in the past of what will
# be: "a annoncé un investissement de 500 milliards", "a confirmé 340 embauches").
_OPEN = re.compile(
    rf"{_PLANNED.pattern}|\b(?:\w+rai(?:t|ent)|could|might|would|vis(?:e|ent|ait|aient)|va|vont"
    r"|allai(?:t|ent)|comptai(?:t|ent)|projetai(?:t|ent)|prevu\w*|attendu\w*|forecast\w*"
    r"|expected|projected|set to|targets?|repouss\w*|report\w*|postponed|delayed|annon\w+"
    r"|announc\w*|confirm\w*|prom(?:et|ettent|is|ise|ised|ises)|pledge[sd]?|s['’ ]engag\w*)\b"
)


@dataclass(frozen=True)
class QuestionProfile:
    """What the question is about and what kind of answer it wants."""

    words: tuple[str, ...]
    names: tuple[str, ...]
    numbers: frozenset[str]
    wants: AnswerType | None
    thing: str | None = None
    figures: frozenset[str] = frozenset()
    retrospective: bool = False  # it asks about what was or happened, not what is planned
    prospective: bool = False  # it asks about what could or will be, not what was
    priced: bool = False  # it asks what something costs: an amount of money answers

    @classmethod
    def of(cls, question: str) -> QuestionProfile:
        folded = fold(question)
        # "Musk has tried two ways ...: how much did he offer" asks after its colon
        after_colon = folded.rpartition(":")[2]
        asking = after_colon if len(after_colon.split()) >= 3 else folded
        start = " ".join(asking.split()[:_QUESTION_START_WORDS])
        wants = next((kind for kind, pattern in _WANTS if pattern.search(start)), None)
        opening = " ".join(question.lower().split()[:_QUESTION_START_WORDS])
        asks_where = re.search(_WHERE, start) or _ACCENTED_WHERE.search(opening)
        if wants is None and asks_where:
            wants = "place"  # "Et où se trouve ...", "Savez-vous où ..."
        found = _NAMED_AMOUNT.search(asking)
        named = found is not None and found.start() < len(start)
        if wants is None and named:
            wants = "quantity"  # "what is Sam Altman's annual salary": its name comes later
        names = tuple(
            dict.fromkeys(
                n.lower()
                for n in _NAME.findall(question)
                if len(n) >= _MIN_NAME_LENGTH and n.lower() not in _NOT_NAMES
            )
        )
        framing = _FRAME | _PLACE_FRAME if asks_where else _FRAME
        words = tuple(w for w in dict.fromkeys(surface_words(question)) if fold(w) not in framing)
        retrospective = bool(_PAST.search(question.lower())) and not _PLANNED.search(folded)
        return cls(
            words,
            names,
            frozenset(_NUMBER.findall(folded)),
            wants,
            _asked_thing(question),
            frozenset(_FIGURE.findall(question)),
            retrospective,
            not retrospective and bool(_PROSPECTIVE.search(folded)),
            wants == "quantity" and (named or bool(_PRICED.search(asking))),
        )

    def states_the_years(self, text: str) -> bool:
        """Whether the text states every year the question is set in."""
        years = {n for n in self.numbers if _YEAR.fullmatch(n)}
        return years <= set(_YEAR.findall(fold_text(text)))

    def in_its_time_frame(self, text: str) -> bool:
        """Whether the text can answer for the time the question asks about. For a figure (an
        amount, a percentage, a date), False when the question asks what was
        (`retrospective`) and the text states only what is planned or will be: a plan's
        marker and nothing in the past (F19: the hires a buyer plans do not count the
        workers before the closure); and False when the question asks what could or will be
        (`prospective`) and the text states only what was: something surely in the past
        (`_WAS`) and nothing open to the future (the valuation of the last funding round is
        not what the next one could bring), unless both name the year asked. True otherwise,
        for a text that tells both ("qui employait 500 salariés, en embauchera 340"), and for
        other questions: a name or a reason is told in the future as often as not ("Ce sera
        Elon Musk, qui ...")."""
        if self.wants not in _FIGURE_TYPES:
            return True
        folded = fold_text(text)
        if self.retrospective:
            return not _PLANNED.search(folded) or bool(_PAST.search(text.lower()))
        if self.prospective and not self._set_in_a_year_the_text_states(text):
            return not _WAS.search(text.lower()) or bool(_OPEN.search(folded))
        return True

    def _set_in_a_year_the_text_states(self, text: str) -> bool:
        """The question names a year and the text states it: the year, not the tense, sets
        the time ("Combien coûtera l'édition 2026 ?": "a voté 3 millions d'euros pour
        l'édition 2026")."""
        return any(_YEAR.fullmatch(n) for n in self.numbers) and self.states_the_years(text)

    def answered_by_type(self, text: str) -> bool:
        """Whether the text holds the kind of thing asked for (anything, if no kind)."""
        folded = fold_text(text)
        match self.wants:
            case "name" | "place":
                asked = " ".join(fold_word(w) for w in (*self.words, *self.names))
                return any(
                    any(len(w) >= _MIN_NAME_LENGTH for w in run)
                    and not any(_cognate_in(fold_word(w), asked) for w in run)
                    for run in (found.split() for found in _CAPITALISED.findall(text))
                )
            case "quantity" if self.priced:
                return any(
                    not set(_NUMBER.findall(m.group())) <= self.numbers
                    or not _NUMBER.search(m.group())  # "gratuit", "free"
                    for m in _MONEY.finditer(folded)
                )
            case "quantity":
                return bool(set(_NUMBER.findall(folded)) - self.numbers)
            case "frequency":
                return bool(_FREQUENCY.search(folded))
            case "percent":
                return bool(_PERCENT.search(folded))
            case "year":
                return bool(set(_YEAR.findall(folded)) - self.numbers)
            case "date":
                return bool({m.group() for m in _DATE.finditer(folded)} - self.numbers)
        return True


class EvidenceCheck:
    """Compares a question with evidence texts word by word, through the word vectors."""

    def __init__(
        self,
        profile: QuestionProfile,
        word_vectors: dict[str, np.ndarray],
        vocabulary: dict[str, np.ndarray],
        match_threshold: float,
    ) -> None:
        self.profile = profile
        names = set(profile.names)
        weights = np.array([NAME_WEIGHT if w.lower() in names else 1.0 for w in profile.words])
        self._weights = weights / weights.sum() if len(weights) else weights
        self._question_vectors = word_vectors
        self._vocabulary = vocabulary
        self._threshold = match_threshold

    def _best_matches(self, words: tuple[str, ...], text: str) -> np.ndarray:
        """For each word, its best similarity with a word of the text (1.0 when it is there)."""
        text_words, present = _words_of(text)
        best = np.array([stem(fold_word(w)) in present for w in words], dtype=np.float32)
        absent = [i for i, w in enumerate(words) if not best[i] and w in self._question_vectors]
        vectors = [self._vocabulary[w] for w in text_words if w in self._vocabulary]
        if absent and vectors:
            asked = np.stack([self._question_vectors[words[i]] for i in absent])
            best[absent] = (np.stack(vectors) @ asked.T).max(axis=0)
        return best

    def missing_names(self, passages: Sequence[str]) -> list[str]:
        """The question's names that the passages never mention, even translated."""
        folded = " ".join(fold_text(p) for p in passages)
        unseen = tuple(n for n in self.profile.names if not _cognate_in(fold_word(n), folded))
        if not unseen:
            return []
        scores = self._best_matches(unseen, " ".join(passages))
        return [n for n, s in zip(unseen, scores, strict=True) if s < self._threshold]

    def missing_in_article(self, article: str) -> list[str]:
        """The question's names (even translated: `missing_names`) and figures that the
        article's text never mentions; [] when it could be the article the question is about."""
        figures = self.profile.figures - set(_FIGURE.findall(article))
        return [*self.missing_names([article]), *sorted(figures)]

    def could_answer(self, sentence: str) -> bool:
        """Whether the sentence holds what the question asks for, in the year and the time
        frame it is set in, about the thing it counts or names."""
        return (
            self.profile.answered_by_type(sentence)
            and self.profile.states_the_years(sentence)
            and self.profile.in_its_time_frame(sentence)
            and self.speaks_of_the_thing(sentence)
        )

    def speaks_of_the_thing(self, text: str) -> bool:
        """For "how many X" or "the name of X", whether the text speaks of X (or its
        translation); True for the other questions."""
        thing = self.profile.thing
        if thing is None:
            return True
        return bool(self._best_matches((thing,), text)[0] >= self._threshold)

    def without_the_thing(self) -> EvidenceCheck:
        """The same check with no thing asked about (`speaks_of_the_thing` always True): for
        the reader, whose model then judges what the word vectors could not match
        (`GenerativeGenerator.stream`)."""
        return EvidenceCheck(
            replace(self.profile, thing=None),
            self._question_vectors,
            self._vocabulary,
            self._threshold,
        )

    def coverage(self, sentence: str) -> float:
        """Weighted mean best similarity of the question's words with the sentence's words.

        A name weighs a quarter of another word: names are checked in the quoted articles, and
        a sentence that names Musk and Trump but says nothing of "dormi" or "club privé" does
        not answer where Musk slept.
        """
        return self.weighted(self.word_matches(sentence))

    def word_matches(self, text: str) -> np.ndarray:
        """For each of the question's words, its best similarity in [0, 1] with a word of the
        text (1.0 where it is there): a (len(profile.words),) array."""
        return self._best_matches(self.profile.words, text)

    def weighted(self, matches: np.ndarray) -> float:
        """The coverage that per-word matches (`word_matches`, or their maximum over several
        texts) give: their mean weighted as in `coverage`; 1.0 for a question without words."""
        if not self.profile.words:
            return 1.0
        return float(matches @ self._weights)


@lru_cache(maxsize=32768)
def _words_of(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """A text's distinct words, and their stems (remembered: a sentence is weighed for many
    questions)."""
    words = tuple(dict.fromkeys(surface_words(text)))
    return words, frozenset(stem(fold_word(w)) for w in words)


# An English noun phrase ends where a name or a past participle follows it ("the name of the
# AI Musk launched", "how many employees worked"); its head is its last plural, if any.
_ENDS_AN_ENGLISH_THING = re.compile(r"[A-Z].*|\w+ed").fullmatch
_PLURAL = re.compile(r"\w+[^s]s").fullmatch


def _asked_thing(question: str) -> str | None:
    """The head word of what the question counts, prices or asks the name of, if it asks
    that; for an amount asked by its name ("quelle valorisation"), the name."""
    for pattern, head in ((_THING_FR, 0), (_THING_EN, -1)):
        found = pattern.search(question)
        if found is None:
            continue
        words = ELISION.sub(" ", found.group(1)).split()
        run: list[str] = []
        for word in (w.strip("?,.;:!«»\"'’") for w in words):
            # "AI" is a thing, "ai" a verb; "start-up" is a word, "500" is not.
            stop = (word.islower() and fold(word) in STOPWORDS) or not word.replace(
                "-", ""
            ).isalpha()
            if run and (stop or (head == -1 and _ENDS_AN_ENGLISH_THING(word))):
                break
            if not stop:
                run.append(word.lower())
        if head == -1:  # "how many engineers work": the plural, not the verb after it
            run = [w for w in run if _PLURAL(w)][-1:] or run
        thing = run[head] if run else None
        if thing is None or len(thing) < _MIN_NAME_LENGTH or fold(thing) in _NOT_A_THING:
            return None
        return thing
    named = _NAMED_AMOUNT.search(fold(question))
    return named.group(1) if named else None


def _cognate_in(name: str, folded_text: str) -> bool:
    """The name, or a word sharing its first letters ("democratic", "democrate"), is there."""
    if len(name) < _COGNATE_PREFIX + 1:
        return re.search(rf"\b{re.escape(name)}\b", folded_text) is not None
    return re.search(rf"\b{re.escape(name[: _COGNATE_PREFIX + 1])}", folded_text) is not None


# "..., et combien ...", "... et quand ...", "..., and what ...": a coordinated question word
# starts a second question.
_JOINED = re.compile(
    r",?\s+(?:et|and|with|avec)\s+(?=(?:combien|quel|quelle|quels|quelles|qui|qu['’]|que|où|quand"
    r"|comment|pourquoi|à quel|à quelle|de quel|de quelle|dans quel|dans quelle|sur combien"
    r"|à propos de quel|how|what|which|who|whom|when|where|why|in which|on which|to which)\b)",
    re.IGNORECASE,
)
_MIN_PART_WORDS = 3


def question_parts(question: str) -> list[str]:
    """The questions a compound question joins, each as written ("Quel est le montant du
    contrat ..., et combien Oracle ... s'engagent-ils à investir ?" gives two); [question]
    when it asks one thing, or when a part would be under three words."""
    parts = [p.strip() for p in _JOINED.split(question)]
    if len(parts) < 2 or any(len(p.split()) < _MIN_PART_WORDS for p in parts):
        return [question]
    return parts
