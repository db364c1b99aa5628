"""Does a cited passage support the claim it is attached to? (after ALCE, Gao et al. 2023)

Used twice: the generative backends check each sentence a model wrote before it is shown, and the
evaluation judges every answer the service gives.

An answer is cut into claims: a sentence, or a quotation followed by its markers; the markers
inside or right after a claim are the citations that vouch for it. Where a claim quotes
("« ... »", "“ ... ”") and the quotation is most of it, the quotation is the claim and the
words around it are attribution, as is the answer's lead-in ("According to the articles:"). A
claim is supported by a cited text when

- every number of the claim is in the cited text (a wrong figure is the commonest invention),
- every name of the claim (a capitalised word inside a sentence) is in the cited text or the
  passage it was cited from (in a claim in the other language, or translated from it, it may
  be the translation of the cited text's words), and
- its key terms are there (lexical coverage) or it says the same thing in other words, in either
  language (cosine similarity with the multilingual embedder).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from text_to_num import alpha2digit

from app.services.language import detect_language
from ingest.chunking import sentence_spans
from prompts import load_prompt
from vectorstore.tokens import STOPWORDS, fold, tokenize

MARKERS = re.compile(r"\s*\[(\d+)\]")
_QUOTED = re.compile(r"«\s*(.+?)\s*»|“(.+?)”|\"(.+?)\"", re.DOTALL)
_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?")
# A capitalised word inside a sentence: after a word and a space, or after an opening
# parenthesis ("Sundar Pichai (Google's CEO)"), never a sentence's or a quotation's first word.
_NAME = re.compile(r"(?:(?<=[^.!?:«“\"\s]\s)|(?<=\s\())([A-ZÀ-ÖØ-Þ][\w’'-]+)")

COVERAGE_MIN = 0.6
SIMILARITY_MIN = 0.55  # cosine with USE v3: a paraphrase or translation sits above, a topic below
# A name translated: the cosine (USE v3) of the name, or of the run of capitalised words it
# stands in ("White House"), and the closest run of one to four words of the cited text, hyphens
# cut ("Maison Blanche"). Measured: translations 0.77-0.97 ("White House" / "Maison Blanche"
# 0.81, "Council of Economic Advisors" / "Conseil des conseillers économiques" 0.88, "Advisors"
# / "conseillers" 0.77, "Supreme Court" / "Cour suprême" 0.86, "Germany" / "Allemagne" 0.96);
# other names of the same kind 0.22-0.69 ("Bank of England" / "Banque de France" 0.69,
# "European Commission" / "Conseil européen" 0.65, "Germany" / "France" 0.59, "Trump" /
# "Biden" 0.48, "White House" / "Pentagone" 0.33).
NAME_TRANSLATION_MIN = 0.7
WORD_IN_RUN_MIN = 0.5  # "White" / "Blanche" 0.64; "German" / "économiques" far less
_WORDS = re.compile(r"[\w’']+")
_NAME_RUN = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w’'-]*(?:\s+(?:(?:of|the|de|du|des|la|le)\s+)?[A-ZÀ-ÖØ-Þ][\w’'-]*)*"
)

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Claim:
    """`text` is what is claimed (a quotation without its attribution); `sentence` is the
    claim as written, markers removed."""

    text: str
    markers: tuple[int, ...]
    sentence: str = ""


# A claim ends after its closing marks and markers: ". [1]", ".[1][2]", "» [1]", or a bare
# marker run, when white space or the end follows; never at an initial's full stop ("the U. S.
# military", "M. Macron").
_CLAIM_END = re.compile(
    r"(?:(?<![\s.][A-Z])(?<!^[A-Z])[.!?…]+[»”\")]*(?:\s*\[\d+\])*"
    r"|[»”\"](?:\s*\[\d+\])+|(?:\s*\[\d+\])+[.!?…]*)(?=\s|$)"
)


def split_claims(answer: str) -> list[Claim]:
    """The answer's claims in order, each with the markers that vouch for it (maybe none)."""
    claims: list[Claim] = []
    position = 0
    quotes = [m.span() for m in _QUOTED.finditer(answer)]
    for end in _CLAIM_END.finditer(answer):
        if any(start < end.start() and end.end() < stop for start, stop in quotes):
            continue  # a full stop inside a quotation does not end the claim
        piece = answer[position : end.end()]
        position = end.end()
        markers = tuple(int(m) for m in MARKERS.findall(piece))
        sentence = _tidy(MARKERS.sub("", piece))
        text = _claim_text(sentence)
        if tokenize(text):
            claims.append(Claim(text, markers, sentence))
        elif markers and claims:  # markers standing alone vouch for the claim before them
            last = claims[-1]
            claims[-1] = Claim(last.text, last.markers + markers, last.sentence)
    rest = _tidy(MARKERS.sub("", answer[position:]))
    if tokenize(rest):
        claims.append(Claim(_claim_text(rest), (), rest))
    return claims


def _tidy(text: str) -> str:
    """White space folded and trimmed, no space left before a full stop."""
    return re.sub(r"\s+([.!?…,;:])", r"\1", re.sub(r"\s+", " ", text)).strip()


# A quotation is the claim when it is most of the sentence (« the article's sentence » [1]);
# a word or two quoted inside a sentence of one's own ('models called "open"') is not.
QUOTE_SHARE = 0.5


@lru_cache(maxsize=1)
def _lead_ins() -> tuple[str, ...]:
    """How the service's answers open ("D’après les articles :", "According to the
    articles:"): attribution, like the words around a quotation, not a claim."""
    found = [load_prompt("extractive", lang)["lead_in"] for lang in ("fr", "en")]
    found.append(load_prompt("translate", "en")["lead_in"])
    return tuple(sorted({_tidy(lead_in) for lead_in in found}, key=len, reverse=True))


def _claim_text(text: str) -> str:
    for lead_in in _lead_ins():
        if text.startswith(lead_in):
            text = text[len(lead_in) :].strip()
            break
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
    if quoted and sum(map(len, quoted)) >= QUOTE_SHARE * len(text):
        return " ".join(quoted)
    return text.strip(" :")


# Numbers written as words, in either language, read as digits: "un million de dollars"
# supports "$1 million", "deux modèles" supports "two models".
_NUMBER_WORDS = {
    **dict.fromkeys(("un", "une", "one", "a", "an"), "1"),
    **dict.fromkeys(("deux", "two"), "2"),
    **dict.fromkeys(("trois", "three"), "3"),
    **dict.fromkeys(("quatre", "four"), "4"),
    **dict.fromkeys(("cinq", "five"), "5"),
    **dict.fromkeys(("six",), "6"),
    **dict.fromkeys(("sept", "seven"), "7"),
    **dict.fromkeys(("huit", "eight"), "8"),
    **dict.fromkeys(("neuf", "nine"), "9"),
    **dict.fromkeys(("dix", "ten"), "10"),
}
# "a", "un" and "one" are numbers only before a unit or a count, where they are not articles
# or pronouns alone ("a central role" holds no number); "neuf" only there too, where it is not
# "new". The others are numbers wherever they stand: "au cours des cinq prochaines années"
# supports "over the next five years".
_AMBIGUOUS = ("un", "une", "one", "a", "an", "neuf")
_WORD_NUMBER = re.compile(
    r"\b(?:(" + "|".join(_AMBIGUOUS) + r")(?=\s+(?:millions?|milliards?|billions?|thousand"
    r"|mille|hundred|cents?|dollars?|euros?|ans|years?|mois|months?|jours?|days?)\b)"
    r"|(" + "|".join(w for w in _NUMBER_WORDS if w not in _AMBIGUOUS) + r"))\b",
    re.IGNORECASE,
)


# A number spelled in hyphenated words of one language ("dix-huit", "quatre-vingt-dix",
# "vingt-et-un", "twenty-one") is one number, read by text2num; its parts are not numbers
# of their own ("dix-huit" is not 10 and 8, so "ten-huit months" is not supported by it).
_SPELLED = {
    "fr": "un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize vingt vingts trente quarante cinquante soixante cent cents",
    "en": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred",
}
_COMPOUNDS = {
    language: re.compile(
        rf"\b(?:{'|'.join(words.split())})(?:-(?:et-|and-)?(?:{'|'.join(words.split())}))+\b",
        re.IGNORECASE,
    )
    for language, words in _SPELLED.items()
}


def _numbers(text: str) -> set[str]:
    for language, compound in _COMPOUNDS.items():
        text = compound.sub(functools.partial(_spelled, language=language), text)
    digits = _WORD_NUMBER.sub(lambda m: _NUMBER_WORDS[m.group().lower()], text)
    return {re.sub(r"[\s.,]", "", n) for n in _NUMBER.findall(digits)}


def _spelled(match: re.Match[str], language: str) -> str:
    """A hyphenated spelled number in digits ("dix-huit": "18")."""
    return str(alpha2digit(match.group(), language))


def stated_numbers(text: str) -> set[str]:
    """The numbers a text states, to support a claim's: as `_numbers` reads them, and with the
    spelled numbers past ten read by text2num in the text's language ("dureront dix-huit
    mois" states 18, "le trajet dure douze minutes" 12). Only the supporting side reads them
    so: a claim's "eighteen months" asks for no figure, "18 months" asks for 18."""
    return _numbers(text) | _numbers(alpha2digit(text, detect_language(text)))


def states_its_numbers(claim: str, text: str) -> bool:
    """Whether the claim states at least one number and the text states every one it does
    (`stated_numbers`): "received 2073 votes" of « ... ; Voix: 2073 ; ... »."""
    numbers = _numbers(claim)
    return bool(numbers) and numbers <= stated_numbers(text)


# Months and days are capitalised in English and are dates, not names ("June": "juin").
_NOT_NAMES = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


# Titles written in capitals are roles, not names: "CEO" translates "patron" or "PDG", which
# the meaning check weighs with the rest of the sentence.
_TITLES = frozenset("ceo cfo coo cto pdg dg".split())
# A name joined to a lower-case word is the name alone: "AI-generated" ("générée par l'IA").
_JOINED_WORD = re.compile(r"-[a-zà-ÿ’'-]+$")


def _names(text: str) -> set[str]:
    """The claim's names, folded, without an English possessive ("OpenAI's": "openai") or a
    lower-case word joined to them ("AI-generated": "ai"); months, days and titles are not
    names."""
    names = {fold(_JOINED_WORD.sub("", re.sub(r"['’]s$", "", n))) for n in _NAME.findall(text)}
    return names - _NOT_NAMES - _TITLES - STOPWORDS  # "(Il ...", ") The ..."


# A written sentence that opens with a personal pronoun ("He asked the courts ...") and the
# name a sentence opens with, a run of capitalised words ("Elon Musk offered ...").
_PRONOUN = re.compile(r"^(?:He|She|Il|Elle)\b")
_LEADING_NAME = re.compile(r"^[A-ZÀ-ÖØ-Þ][\w’'-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w’'-]*)*(?=\s+[a-zà-ÿ])")


def leading_name(sentence: str, known: str) -> str:
    """The name the sentence opens with, its subject ("Elon Musk offered ...": "Elon Musk"),
    when every word of it is a name inside a sentence of `known` (the question and the
    sentences the writer was shown), so that an opening word such as "Despite" or "Selon" is
    not taken for one; "" otherwise."""
    run = _LEADING_NAME.match(sentence)
    if not run or run.group().endswith(("'s", "’s")):
        return ""  # "Musk's company ...": the subject is not the name
    words = _names(f"x {run.group()}")
    if len(words) != len(run.group().split()) or not words <= _names(known):
        return ""
    return run.group()


def with_subject(sentence: str, subject: str) -> str:
    """The sentence with an opening personal pronoun replaced by `subject`, the name a
    sentence before it opened with ("He asked the courts for an injunction": "Musk asked
    ..."); the sentence itself when it opens otherwise or no subject is known.

    Why: a written sentence is checked alone against the sentence it cites, and its meaning
    is compared across languages by the embedder, to which a pronoun says nothing: "He asked
    the courts for an injunction to prevent OpenAI from becoming a for-profit company" scores
    0.54 against "La récente injonction demandée par Musk pour empêcher OpenAI de devenir une
    entreprise à but lucratif ...", under SIMILARITY_MIN, and 0.71 with "Musk" (q079)."""
    if not subject or not _PRONOUN.match(sentence):
        return sentence
    return _PRONOUN.sub(subject, sentence, count=1)


_COGNATE_PREFIX = 6


def _named_in(name: str, folded: str) -> bool:
    """The name is in the folded text, or, for a long one, a word sharing its first six
    letters: a translation ("Democrats": "démocrates", "Pentagon": "Pentagone")."""
    if name in folded:
        return True
    prefix = name[:_COGNATE_PREFIX]
    return len(name) > _COGNATE_PREFIX and re.search(rf"\b{re.escape(prefix)}", folded) is not None


_ACRONYM = re.compile(r"\b[A-Z]{2,5}\b")


def _reversed_acronym_in(name: str, claim: str, folded: str) -> bool:
    """Whether the name is an acronym of the claim whose letters, reversed, are a word of the
    folded text: French orders a noun's words the other way round ("AI": "IA", "EU": "UE",
    "NATO": "OTAN"). USE v3 puts "AI" and "IA" at 0.68, under NAME_TRANSLATION_MIN."""
    acronyms = {fold(a) for a in _ACRONYM.findall(claim)}
    return name in acronyms and re.search(rf"\b{re.escape(name[::-1])}\b", folded) is not None


def _untranslated(names: list[str], claim: str, evidence: str, embed: Embed) -> list[str]:
    """The names (folded) of which neither the word as written in the claim nor the run of
    capitalised words it stands in translates a run of one to four words of the evidence."""
    written: dict[str, set[str]] = {name: set() for name in names}
    for run in _NAME_RUN.findall(claim):
        run = _JOINED_WORD.sub("", re.sub(r"['’]s\b", "", run))
        for word in run.split():
            word = _JOINED_WORD.sub("", re.sub(r"['’]s$", "", word))
            if fold(word) in written:
                written[fold(word)] |= {word, run}
    words = _WORDS.findall(evidence)
    runs = list(
        dict.fromkeys(" ".join(words[i : i + n]) for n in (1, 2, 3, 4) for i in range(len(words)))
    )
    forms = sorted({form for found in written.values() for form in found})
    if not runs or not forms:
        return names
    vectors = embed([*forms, *runs])
    best = dict(
        zip(forms, (vectors[: len(forms)] @ vectors[len(forms) :].T).max(axis=1), strict=True)
    )
    return [name for name in names if not _translates(written[name], best)]


def _translates(forms: set[str], best: dict[str, float]) -> bool:
    """Whether a name, by its forms (the word, and the run it stands in), translates: the word
    itself, or its run with the word itself half as close (WORD_IN_RUN_MIN), so that a word
    added to a translated run ("German Council of Economic Advisors") does not pass with it."""
    words = [f for f in forms if " " not in f]
    runs = [f for f in forms if " " in f]
    own = max((best[f] for f in words), default=0.0)
    run = max((best[f] for f in runs), default=0.0)
    return own >= NAME_TRANSLATION_MIN or (run >= NAME_TRANSLATION_MIN and own >= WORD_IN_RUN_MIN)


def keeps_facts(original: str, rewritten: str, given: str = "", embed: Embed | None = None) -> bool:
    """Whether `rewritten` states every number and every name of `original` (markers aside;
    a name may be a cognate, as `judge` finds them) that `given` does not already hold: the
    test that a rewording lost none of the hard facts of the text it replaces.

    `given` is what the reader already knows, the question: "4,200 lanterns were released at
    the Quimperlé festival" took "Quimperlé" from "How many lanterns were released at the
    Quimperlé festival?", and the cited sentence's translation, which does not name the town,
    loses nothing the reader was not told.

    Given `embed`, a name `rewritten` writes in other words counts as stated: one whose word,
    or run of capitalised words, translates a run of `rewritten` (`_untranslated`, as `judge`
    finds translated names). "Chris Lehane is an avocat à la Maison Blanche under Bill
    Clinton" is kept by "Chris Lehane, former attorney at the White House under Bill Clinton"
    (« Maison Blanche » / "White House"), not by "A former White House lawyer under Bill
    Clinton", which drops Chris Lehane."""
    original, rewritten = MARKERS.sub("", original), MARKERS.sub("", rewritten)
    if not _numbers(original) - _numbers(given) <= stated_numbers(rewritten):
        return False
    folded, known = fold(rewritten), fold(given)
    missing = [
        name
        for name in sorted(_names(original))
        if not _named_in(name, folded) and not re.search(rf"\b{re.escape(name)}\b", known)
    ]
    if not missing or embed is None:
        return not missing
    return not _untranslated(missing, original, rewritten, embed)


def copies_a_phrase(written: str, cited: Sequence[str]) -> bool:
    """Whether `written` repeats two consecutive lower-case words of a cited text: in an
    English answer over French sentences, a phrase left untranslated ("4 200 lanternes
    biodégradables were released ..."). Names, capitalised, and figures are not counted."""
    phrases = {pair for text in cited for pair in _lower_pairs(text)}
    return not phrases.isdisjoint(_lower_pairs(written))


def _lower_pairs(text: str) -> set[tuple[str, str]]:
    words = [w if w.isalpha() and w.islower() else "" for w in re.findall(r"[\w’'-]+", text)]
    return {(a, b) for a, b in zip(words, words[1:], strict=False) if a and b}


@dataclass(frozen=True)
class Verdict:
    supported: bool
    numbers_ok: bool
    names_ok: bool
    coverage: float
    similarity: float


def _span_sentences(cited: Sequence[str]) -> list[str]:
    """The sentences of each cited text that holds more than one; none for single sentences."""
    spans = [sentence_spans(text) for text in cited]
    return [
        text[a:b]
        for text, found in zip(cited, spans, strict=True)
        if len(found) > 1
        for a, b in found
    ]


# What a claim adds to its question, found word by word in a cited text in another language:
# the USE v3 cosine of a word and its translation. Measured: "year" / "année" 0.94, "twelve" /
# "douze" 0.91, "entire" / "toute" 0.87, "paperwork" / "paperasse" 0.78, "sources" / "Source"
# 0.81; words that are not translations up to 0.74 ("weeks" / "mois"; "closed" / "ouvert" 0.65,
# "hours" / "minutes" 0.62). Verbs translate less surely ("lasts" / "dure" 0.65, "takes" / "dure"
# 0.53), hence two thirds of the words, not all: one word in three may be missing, so a claim
# adding two words ("twelve hours") must have both.
ADDED_WORD_MIN = 0.75
_LETTERS = re.compile(r"[^\W\d_]+")
# A cited text's words, and its currency signs: "euros" / "€" 0.77, so "4 € le gobelet" gives
# the "euros" of "a cup cost 4 euros".
_CITED_WORD = re.compile(r"[^\W\d_]{2,}|[€$£¥]")


def adds_found_words(claim: str, question: str, cited: Sequence[str], embed: Embed) -> bool:
    """Whether at least two thirds of the words the claim adds to its question (lower-case
    words that are not stop words and whose stems the question does not hold; names and
    figures are left to their own checks) each have a translation among the cited texts'
    words (cosine ADDED_WORD_MIN or more); False when it adds no such word.

    For a claim in the question's language that restates the question and gives the one fact
    of a cited sentence in another language, which the meaning check (SIMILARITY_MIN) does not
    see: "The Kerbihan river shuttle trip takes twelve minutes" scores 0.49 against "Le billet
    ... coûte 1,50 euro, et le trajet dure douze minutes.", its added "twelve minutes" are
    there. A claim whose added words are only names ("... cites Amazon and Meta as its
    sources", of a sentence naming them as donors) adds no such word."""
    asked = set(tokenize(question))
    added = sorted(
        {
            word
            for word in _LETTERS.findall(claim)
            if word.islower() and fold(word) not in STOPWORDS and not set(tokenize(word)) <= asked
        }
    )
    if not added:
        return False
    # the cited texts' words, stop words included: "entire" translates "toute" (0.87)
    words = sorted({word for text in cited for word in _CITED_WORD.findall(text)})
    if not words:
        return False
    vectors = embed([*added, *words])
    best = (vectors[: len(added)] @ vectors[len(added) :].T).max(axis=1)
    return 3 * int((best >= ADDED_WORD_MIN).sum()) >= 2 * len(added)


def judge(
    claim: str,
    cited: Sequence[str],
    embed: Embed,
    context: Sequence[str] = (),
    translated_names: bool = False,
) -> Verdict:
    """Whether the cited texts, together, support the claim.

    `context` is the passages the cited sentences come from: a name may be found there, since
    a sentence's "il" or "le funiculaire" is resolved by its passage ("La rénovation du
    funiculaire a coûté 19 millions" supports "the Corvenne funicular's renovation cost 19
    million" in an article on Corvenne); numbers and meaning must be in the cited texts.

    A name not found may be the translation of a run of words of the cited text
    (NAME_TRANSLATION_MIN) when the claim is in another language than the cited text, or with
    `translated_names` (a claim that translates its one cited sentence).
    """
    evidence = " ".join(cited)
    numbers_ok = _numbers(claim) <= stated_numbers(evidence)
    folded = fold(" ".join([evidence, *context]))
    missing = [
        name
        for name in _names(claim)
        if not _named_in(name, folded) and not _reversed_acronym_in(name, claim, folded)
    ]
    if missing and (translated_names or detect_language(claim) != detect_language(evidence)):
        missing = _untranslated(missing, claim, evidence, embed)
    names_ok = not missing
    terms = set(tokenize(claim))
    present = set(tokenize(evidence))
    coverage = len(terms & present) / len(terms) if terms else 1.0
    # A span of sentences (`antecedents.py`) supports what one of them says: the claim is
    # compared with each of its sentences too ("This initiative, which will run throughout
    # next year, ..." scores 0.36 against the span holding it, 0.63 against its sentence).
    vectors = embed([claim, evidence, *_span_sentences(cited)])
    similarity = float(np.max(vectors[1:] @ vectors[0]))
    supported = (
        numbers_ok and names_ok and (coverage >= COVERAGE_MIN or similarity >= SIMILARITY_MIN)
    )
    return Verdict(supported, numbers_ok, names_ok, round(coverage, 3), round(similarity, 3))
