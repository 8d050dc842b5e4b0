"""Matching needs and supplies: jieba's words (punctuation and stop words left out) ranked by
BM25 — the entry sharing the rarer, more frequent words first, one sharing none left out."""

from __future__ import annotations

from workflows import matching


def test_words_are_jiebas_without_punctuation_or_stop_words() -> None:
    words = matching.tokens("寻求与医院开展微流控POCT技术合作（示例数据）。")
    assert "微流控" in words and "poct" in words and "医院" in words
    assert not {"与", "开展", "示例数据", "（", "。"} & set(words)


def test_bm25_ranks_the_supply_sharing_the_most_telling_words_first() -> None:
    need = matching.tokens("寻求基层医疗机构 POCT 快速检测方案")
    docs = {
        1: matching.tokens("流动捕获微流控 POCT 诊断平台，基层医疗机构快速检测"),
        2: matching.tokens("区域全民健康信息平台建设方案"),
        3: matching.tokens("都市农业新品种与种苗繁育技术"),
    }
    ranked = matching.rank(need, docs, limit=5)
    assert [doc for doc, _, _ in ranked] == [1, 2]
    assert ranked[0][1] > ranked[1][1] > 0
    assert "poct" in ranked[0][2] and "方案" in ranked[1][2]
    assert matching.rank(need, docs, limit=1) == ranked[:1]
    assert matching.rank([], docs) == [] and matching.rank(need, {}) == []
