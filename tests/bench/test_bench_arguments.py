"""Bench command lines refuse nonsense numbers and names before anything is measured: exit 2."""

from __future__ import annotations

import pytest

import bench.bench_cli_startup
import bench.bench_executor
import bench.bench_policy
import bench.bench_retrieval
import bench.bench_template_planner
import bench.bench_validation
import bench.peers.peer_bench


@pytest.mark.parametrize("main, option, value", [
    (bench.bench_executor.main, "--sizes", "0"),
    (bench.bench_executor.main, "--sizes", "10,x"),
    (bench.bench_executor.main, "--sizes", "-5"),
    (bench.bench_executor.main, "--sizes", "10,,20"),
    (bench.bench_executor.main, "--repeat", "0"),
    (bench.bench_retrieval.main, "--goals", "0"),
    (bench.bench_validation.main, "--steps", "0"),
    (bench.bench_validation.main, "--runs", "0"),
    (bench.bench_template_planner.main, "--goals", "0"),
    (bench.bench_template_planner.main, "--repeat", "0"),
    (bench.bench_cli_startup.main, "--runs", "0"),
    (bench.bench_policy.main, "--repeat", "0"),
    (bench.bench_policy.main, "--repeat", "two"),
])
def test_a_count_below_one_or_not_a_number_is_a_usage_error(main, option, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def test_sizes_are_read_as_whole_numbers():
    parser_type = bench.bench_executor.chain_sizes
    assert parser_type("100,2000") == (100, 2000)


@pytest.mark.parametrize("peers", ["dbos,graph", "nope", ""])
def test_peer_bench_refuses_an_unknown_peer_name_before_measuring(peers, capsys, monkeypatch):
    def measured(*_args, **_kwargs):
        raise AssertionError("measured although --peers names an unknown peer")

    monkeypatch.setattr(bench.peers.peer_bench, "compare", measured)
    with pytest.raises(SystemExit) as stopped:
        bench.peers.peer_bench.main(["--peers", peers])
    assert stopped.value.code == 2
    assert "argument --peers: " in capsys.readouterr().err


def test_peer_bench_reads_known_peer_names(monkeypatch):
    asked = []
    monkeypatch.setattr(bench.peers.peer_bench, "compare",
                        lambda python, steps, peers, repeat, timeout: asked.append(peers) or "")
    monkeypatch.setattr("baton.logging.configure_logging", lambda *a, **k: None)
    bench.peers.peer_bench.main(["--peers", "langgraph,dbos"])
    assert asked == [("langgraph", "dbos")]
