"""Tool retrieval: offer the model only the tools relevant to a goal.

:class:`ToolRanker` is the pluggable interface (an embedding ranker can come
later); :class:`LexicalRanker` is BM25 over tokens from tool names (dotted,
snake_case and camelCase split, weighted higher), descriptions and argument
names and descriptions. Tools may be ``ToolSpec``/``ToolInfo`` objects or plain
mappings (``name``/``api_name``, ``description``/``api_description``,
``parameters``/``input_schema``), so benchmark catalogues need no registry.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_WORD = re.compile(r"[A-Za-z0-9]+")
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could do does for from get give has have how i if "
    "in into is it its me my need of on or our please provide show should so some that the "
    "their them then there these this to us want was we what when where which while who will "
    "with would you your also about after before help let like tell".split()
)


def split_identifier(text: str) -> list[str]:
    """Words of an identifier: ``getWeatherForecast`` → get, weather, forecast; dots and _ split."""
    words: list[str] = []
    for chunk in _WORD.findall(text):
        words.extend(part.lower() for part in _CAMEL.findall(chunk))
    return words


def stem(word: str) -> str:
    """A small suffix stripper: enough to meet 'forecasts'/'forecast', 'analyzing'/'analyze'."""
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""),
                                ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + replacement
            break
    # 'analyze'/'analyzing' and 'price'/'prices' meet once a final e is dropped.
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def tokens(text: str) -> list[str]:
    """Lower-cased, identifier-split, stemmed tokens of ``text`` without stop words."""
    return [stem(w) for w in split_identifier(text) if w not in STOP_WORDS and len(w) > 1]


@dataclass(frozen=True)
class ToolText:
    """The searchable text of one tool."""

    name: str
    description: str
    arguments: str


def tool_text(tool: Any) -> ToolText:
    """Name, description and argument text of a ToolSpec, ToolInfo or plain mapping."""
    if isinstance(tool, Mapping):
        name = str(tool.get("name") or tool.get("api_name") or "")
        description = str(tool.get("description") or tool.get("api_description") or "")
        params = tool.get("input_schema") or tool.get("parameters") or {}
    elif hasattr(tool, "input_model"):  # a ToolSpec: read the fields, skip JSON Schema generation
        name, description = tool.name, tool.description
        params = {(f.alias or key): {"description": f.description}
                  for key, f in tool.input_model.model_fields.items()}
    else:
        name, description, params = tool.name, tool.description, tool.input_schema
    return ToolText(name=name, description=description, arguments=_argument_text(params))


def _argument_text(params: Any) -> str:
    if not isinstance(params, Mapping):
        return ""
    props = params.get("properties") if isinstance(params.get("properties"), Mapping) else params
    parts: list[str] = []
    for arg, spec in props.items():
        parts.append(str(arg))
        if isinstance(spec, Mapping) and isinstance(spec.get("description"), str):
            parts.append(spec["description"])
    return " ".join(parts)


class ToolRanker(Protocol):
    """Orders tools by relevance to a goal."""

    def rank(self, goal: str, tools: Sequence[Any], k: int) -> list[str]:
        """Names of the ``k`` tools most relevant to ``goal``, best first."""
        ...


class _Index:
    """BM25 statistics of one catalogue."""

    def __init__(self, docs: list[Counter[str]], names: list[str], k1: float, b: float) -> None:
        self.names = names
        self.docs = docs
        self.k1, self.b = k1, b
        lengths = [sum(d.values()) for d in docs]
        self.lengths = lengths
        self.avg_length = (sum(lengths) / len(lengths)) if lengths else 1.0
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            for term in doc:
                self.postings.setdefault(term, []).append(i)

    def scores(self, query: list[str]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                tf = self.docs[i][term]
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_length)
                scores[i] = scores.get(i, 0.0) + idf * tf * (self.k1 + 1) / norm
        return scores


class LexicalRanker:
    """BM25 over name, description and argument tokens; name tokens count ``name_weight`` times."""

    def __init__(self, *, name_weight: int = 3, k1: float = 1.2, b: float = 0.75) -> None:
        self.name_weight = name_weight
        self.k1, self.b = k1, b
        self._cache: tuple[tuple[str, ...], _Index] | None = None

    def _document(self, tool: Any) -> tuple[str, Counter[str]]:
        text = tool_text(tool)
        doc: Counter[str] = Counter()
        for _ in range(self.name_weight):
            doc.update(tokens(text.name))
        doc.update(tokens(text.description))
        doc.update(tokens(text.arguments))
        return text.name, doc

    def index(self, tools: Sequence[Any]) -> _Index:
        """The BM25 index of ``tools``, rebuilt only when the catalogue's names change."""
        key = tuple(tool_text(t).name if isinstance(t, Mapping) else t.name for t in tools)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        pairs = [self._document(t) for t in tools]
        built = _Index([d for _, d in pairs], [n for n, _ in pairs], self.k1, self.b)
        self._cache = (key, built)
        return built

    def rank(self, goal: str, tools: Sequence[Any], k: int) -> list[str]:
        """Names of the ``k`` best-scoring tools; ties and unscored tools keep catalogue order."""
        index = self.index(tools)
        scores = index.scores(tokens(goal))
        order = sorted(range(len(index.names)), key=lambda i: (-scores.get(i, 0.0), i))
        return [index.names[i] for i in order[: max(k, 0)]]
