"""Eval corpus cases read YAML scalars as plans do: YAML 1.1's yes, 017 or 12:30 stay text."""

from __future__ import annotations

from evals.policies import load_corpus


def test_corpus_scalars_are_read_as_yaml_1_2(tmp_path):
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("cases:\n  - {name: c, at: 12:30, code: 017, flag: yes, n: 1e3}\n")
    [case] = load_corpus(corpus)
    assert case == {"name": "c", "at": "12:30", "code": "017", "flag": "yes", "n": 1000.0}
