"""Scoring one question's `/search` and `/ask` responses, and averaging over the set."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.services.answering.support import MARKERS, Embed, judge, split_claims
from app.services.language import detect_language
from eval.dataset import Question

# Metrics reported overall, in table order; None where a metric does not apply to a question.
METRICS = (
    "hit_at_1",
    "hit_at_k",
    "mrr_at_k",
    "answered",
    "abstained_when_not",
    "fact_recall",
    "language_match",
    "markers_valid",
    "citation_precision",
    "citation_support",
    "citation_recall",
)


@dataclass
class QuestionResult:
    id: str
    question: str
    language: str
    kind: str
    answer: str = ""
    hit_at_1: float | None = None
    hit_at_k: float | None = None
    mrr_at_k: float | None = None
    answered: float | None = None
    abstained_when_not: float | None = None
    fact_recall: float | None = None
    language_match: float | None = None
    markers_valid: float | None = None
    citation_precision: float | None = None
    citation_support: float | None = None
    citation_recall: float | None = None
    unsupported: list[str] = field(default_factory=list)
    # Why a model's answer was not given (a fallback's notice); "" when it was, or no model.
    notice: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_retrieval(q: Question, results: list[dict[str, Any]], result: QuestionResult) -> None:
    if not q.answerable:
        return
    ranks = [i for i, r in enumerate(results, start=1) if r["source"] in q.sources]
    result.hit_at_1 = float(bool(ranks) and ranks[0] == 1)
    result.hit_at_k = float(bool(ranks))
    result.mrr_at_k = 1.0 / ranks[0] if ranks else 0.0


def markers_valid(body: dict[str, Any]) -> bool:
    """Every marker names a listed citation and every citation is used; none when abstaining."""
    used = {int(m) for m in MARKERS.findall(body["answer"])}
    listed = [c["marker"] for c in body["citations"]]
    if body["abstained"]:
        return not used and not listed
    return bool(listed) and len(listed) == len(set(listed)) and used == set(listed)


def score_answer(q: Question, body: dict[str, Any], embed: Embed, result: QuestionResult) -> None:
    result.answer = body["answer"]
    result.notice = body.get("notice", "") if body.get("fallback") else ""
    answered = not body["abstained"]
    # The language the answer is written in, not the one the service says it detected: an
    # English question answered with French quotations does not match.
    result.language_match = float(detect_language(MARKERS.sub("", body["answer"])) == q.language)
    result.markers_valid = float(markers_valid(body))
    if q.answerable:
        result.answered = float(answered)
        hits = sum(bool(f.search(body["answer"])) for f in q.facts)
        result.fact_recall = hits / len(q.facts) if q.facts else float(answered)
    else:
        result.abstained_when_not = float(not answered)
    if answered:
        _score_citations(q, body, embed, result)


def _score_citations(
    q: Question, body: dict[str, Any], embed: Embed, result: QuestionResult
) -> None:
    citations = {c["marker"]: c for c in body["citations"]}
    if q.answerable and citations:
        right = sum(c["source"] in q.sources for c in citations.values())
        result.citation_precision = right / len(citations)
    pairs = supported_pairs = claims_ok = 0
    claims = split_claims(body["answer"])
    for claim in claims:
        used = [citations[m] for m in claim.markers if m in citations]
        cited = [c["text"] for c in used]
        # A name may come from the passage the sentence was cited in (its "il" resolved).
        context = [c.get("passage", "") for c in used]
        for c in used:
            pairs += 1
            supported_pairs += judge(
                claim.text, [c["text"]], embed, [c.get("passage", "")]
            ).supported
        if cited and judge(claim.text, cited, embed, context).supported:
            claims_ok += 1
        else:
            result.unsupported.append(claim.text)
    result.citation_support = supported_pairs / pairs if pairs else 0.0
    result.citation_recall = claims_ok / len(claims) if claims else 0.0


def overall(results: list[QuestionResult]) -> dict[str, float | None]:
    """The mean of each metric over the questions it applies to."""
    means: dict[str, float | None] = {}
    for name in METRICS:
        values = [v for r in results if (v := getattr(r, name)) is not None]
        means[name] = round(sum(values) / len(values), 4) if values else None
    return means


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def by_language(results: list[QuestionResult]) -> dict[str, dict[str, float | None]]:
    return {lang: overall([r for r in results if r.language == lang]) for lang in ("fr", "en")}
