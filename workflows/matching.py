"""Suggested matches between needs and supplies: BM25 over the entries' Chinese text.

The text is cut into words by jieba (a maintained Chinese segmenter; its dictionary is loaded
the first time a suggestion is asked for, never at import) and ranked with Okapi BM25
(k1 = 1.5, b = 0.75) against the other side's entries: for a need, the supplies; for a
supply, the needs. Each suggestion names the words it shares with the entry, so an operator
sees why it was suggested.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

K1, B = 1.5, 0.75
#: Words that say nothing about what is needed or offered.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "在",
        "为",
        "对",
        "等",
        "是",
        "有",
        "可",
        "将",
        "并",
        "以",
        "由",
        "于",
        "其",
        "该",
        "本",
        "我们",
        "我司",
        "公司",
        "企业",
        "进行",
        "开展",
        "提供",
        "需要",
        "寻求",
        "希望",
        "相关",
        "一个",
        "一种",
        "示例",
        "数据",
        "示例数据",
    ]
)


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    jieba.initialize()
    return jieba


def tokens(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: jieba's cut, without punctuation, single
    characters that are not letters or digits, and :data:`STOPWORDS`; Latin words lowercased."""
    out = []
    for word in _jieba().lcut(text):
        w = word.strip().lower()
        if not w or w in STOPWORDS or not any(ch.isalnum() for ch in w):
            continue
        if len(w) == 1 and not w.isascii():
            continue
        out.append(w)
    return out


def document(entry: Mapping[str, Any], field_label: str = "") -> str:
    """The text an entry is matched on: its title (twice: it says most), what it seeks or
    offers, its field and its description."""
    title = str(entry["title"])
    return " ".join((title, title, str(entry["sought"]), field_label, str(entry["description"])))


def rank(
    query: Sequence[str], docs: Mapping[int, Sequence[str]], limit: int = 5
) -> list[tuple[int, float, list[str]]]:
    """The ``limit`` documents best matching ``query`` by BM25, best first: (id, score, the
    query words they contain). Documents sharing no word are left out."""
    if not docs or not query:
        return []
    n = len(docs)
    avg = sum(len(d) for d in docs.values()) / n or 1.0
    df: Counter[str] = Counter()
    for d in docs.values():
        df.update(set(d))
    wanted = set(query)
    scored = []
    for doc_id, words in docs.items():
        tf = Counter(words)
        shared = sorted(wanted & tf.keys())
        if not shared:
            continue
        norm = K1 * (1 - B + B * len(words) / avg)
        score = 0.0
        for w in shared:
            idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            score += idf * tf[w] * (K1 + 1) / (tf[w] + norm)
        scored.append((doc_id, round(score, 4), shared))
    scored.sort(key=lambda s: (-s[1], s[0]))
    return scored[:limit]
