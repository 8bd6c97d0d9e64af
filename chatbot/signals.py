"""What an answer decision rests on: one typed field per signal, and the decision.

A signal is declared once, here, as a field of `Signals`:
- a *rule* refuses on its own, with its reason: it states a general fact about answering (a
  question about a place no document names cannot be answered from them);
- a *feature* is a number that the fitted weights (chatbot/data/abstain.json, written by
  `hpsr calibrate --write`) weigh with the others into the probability that the quoted
  sentences answer the question. Its `low` text is the reason given when it is the feature
  that pulls that probability down most.
`decide` applies the rules in the order the fields are declared, then the weights;
calibration fits the weights over `FEATURES`, which are read from the fields.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from index.errors import ConfigError

WEIGHTS_FILE = Path(__file__).resolve().parent / "data" / "abstain.json"


def _rule(default, reason: str):
    return field(default=default, metadata={"rule": reason})


def _feature(low: str, neutral: float):
    """`neutral`: its value for an ordinary answerable question, when the question has no words
    to measure it on."""
    return field(default=neutral, metadata={"feature": True, "low": low})


@dataclass(frozen=True)
class Signals:
    # -- rules, in the order they are applied ---------------------------------------------
    # The question names nothing to look for ("Why?", "Tell me more.") and follows no other.
    nothing_asked: bool = _rule(False, "The question names nothing to look for: ask about a subject of the "
                                       "documents.")
    # Names, places, organisations or acronyms that no document mentions.
    absent_names: tuple[str, ...] = _rule((), "No document mentions {}.")
    # Every word of the question is in no document ("sourdough bread"): nothing to match.
    absent_words: tuple[str, ...] = _rule((), "No document mentions {}.")
    # The retrieved passages hold no sentence that could be quoted (references, figures).
    unquotable: bool = _rule(False, "None of the closest passages is running text that could be quoted "
                                    "(they are reference lists, contents or figures).")
    # Names the quoted passages never mention, nor their documents as a whole.
    unsupported_names: tuple[str, ...] = _rule((), "The passages closest to the question do not mention {}.")
    # (asked, given): the sentence that answers best gives other years than the one asked.
    other_years: tuple[str, ...] = _rule((), "The closest passages give figures for {1}, not {0}.")
    # Years asked for that the quoted passages do not give.
    missing_years: tuple[str, ...] = _rule((), "The closest passages give nothing for {}.")
    # (names, word): what a figure is asked of, which no passage speaking of the names mentions.
    unspoken: tuple[str, ...] = _rule((), "No passage about {0} mentions {1}.")
    # What a figure is asked of ("psychiatrists"), where no quoted sentence names it.
    unnamed_focus: str = _rule("", "The closest passages do not mention {}.")
    # The quoted passages hold none of the question's words (its names aside).
    nothing_shared: bool = _rule(False, "The closest passages share none of the question's words.")
    # A follow-up's "what about X", where no passage speaking of the question's names mentions X.
    missing_about: str = _rule("", "The documents say nothing of {} there.")
    # The office whose holder is asked for, where no quoted sentence names a person holding it.
    missing_holder: str = _rule("", "The closest passages do not say who the {} is.")
    # The kind of answer asked for (a year, a figure, an amount of money) that no quoted sentence holds.
    missing_kind: str = _rule("", "The closest passages give no {} for this.")

    # -- features, weighed by the fitted weights ------------------------------------------
    # Cosine similarity of the question and the closest sentence quoted.
    sentence_similarity: float = _feature("No sentence of the closest passages is close enough to the question "
                                          "to answer it.", 0.6)
    # Share of the question's words (weighted by rarity) that the quoted passages hold.
    coverage: float = _feature("The closest passages share too little with the question to answer it.", 1.0)
    # Share of the question's terms (weighted by rarity) that the best quoted sentence holds: its
    # words and years in it, its names in it or in its passage or as what its document is about.
    # When a year, figure or amount is asked for, the best of the sentences that give one.
    answer_support: float = _feature("No sentence of the closest passages speaks of what the question asks "
                                     "about.", 1.0)
    # What a figure is asked of ("psychiatrists"), where no quoted sentence with a figure names
    # it: its rarity (idf) as a share of the largest possible; 0 when one does, or nothing is counted.
    focus_missing: float = _feature("The closest passages give no figure for what the question counts.", 0.0)
    # Share of the question's words that no document holds.
    absent_share: float = _feature("Most of the question's words are in no document.", 0.0)

    def vector(self) -> np.ndarray:
        return np.array([float(getattr(self, name)) for name in FEATURES])


RULES = tuple(f for f in fields(Signals) if "rule" in f.metadata)
FEATURES = tuple(f.name for f in fields(Signals) if f.metadata.get("feature"))
_LOW = {f.name: f.metadata["low"] for f in fields(Signals) if f.metadata.get("feature")}


@dataclass(frozen=True)
class Weights:
    """A logistic model over FEATURES: P(answerable) = sigmoid(bias + coef . features)."""

    coef: dict[str, float]
    bias: float
    threshold: float  # refuse below this probability
    typical: dict[str, float]  # each feature's mean over the answerable questions it was fitted on
    fitted_on: str = ""  # what the weights were fitted on, in words

    def probability(self, signals: Signals) -> float:
        z = self.bias + sum(self.coef[n] * float(getattr(signals, n)) for n in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def weakest(self, signals: Signals) -> str:
        """The feature that pulls the probability down most, against a typical answerable question."""
        return min(FEATURES, key=lambda n: self.coef[n] * (float(getattr(signals, n)) - self.typical[n]))

    @classmethod
    def off(cls) -> "Weights":
        """Weights that never refuse (the rules still do): for calibration."""
        return cls({n: 0.0 for n in FEATURES}, 0.0, 0.0, {n: 0.0 for n in FEATURES}, "off")

    @classmethod
    def load(cls, path: Path | None = None, threshold: float | None = None) -> "Weights":
        """The weights of `path` (default: the ones fitted for this release), checked against
        the signals this version computes."""
        path = Path(path) if path else WEIGHTS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            coef, bias, typical = data["coef"], float(data["bias"]), data["typical"]
            chosen = float(data["threshold"]) if threshold is None else float(threshold)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"cannot read the abstention weights in {path}: {e}") from e
        if set(coef) != set(FEATURES) or set(typical) != set(FEATURES):
            raise ConfigError(f"the abstention weights in {path} are for the signals {sorted(coef)}, but this "
                              f"version computes {sorted(FEATURES)}: re-fit them with `make calibrate`")
        return cls({n: float(coef[n]) for n in FEATURES}, bias, chosen, {n: float(typical[n]) for n in FEATURES},
                   str(data.get("fitted_on", "")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"fitted_on": self.fitted_on, "features": list(FEATURES),
                                    "coef": {n: round(self.coef[n], 6) for n in FEATURES},
                                    "bias": round(self.bias, 6), "threshold": round(self.threshold, 4),
                                    "typical": {n: round(self.typical[n], 6) for n in FEATURES}},
                                   indent=1) + "\n", encoding="utf-8")


def join(words, conjunction: str = "or") -> str:
    """"a", "a or b", "a, b or c"."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


def decide(signals: Signals, weights: Weights) -> tuple[bool, str]:
    """(answerable, why not): the rules in their order, then the weighed features."""
    for rule in RULES:
        value = getattr(signals, rule.name)
        if value:
            reason = rule.metadata["rule"]
            if "{1}" in reason:
                return False, reason.format(*value)
            return False, reason.format(join(value) if isinstance(value, tuple) else value)
    if weights.probability(signals) < weights.threshold:
        return False, _LOW[weights.weakest(signals)]
    return True, ""
