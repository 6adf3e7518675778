import csv
import json

import pytest

from keras_muxnet.cli import main
from keras_muxnet.cli.search import parse_target


def test_benchmark_writes_front_and_report(tmp_path, capsys):
    code = main(["search", "benchmark", "--problem", "zdt1", "--n-obj", "2", "--evals", "600",
                 "--runs", "1", "--seed", "0", "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "median IGD: ours" in printed and "pymoo" in printed
    with open(tmp_path / "front.csv") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["f1", "f2"] and len(rows) > 2
    assert all(len(r) == 2 and all(float(v) >= 0 for v in r) for r in rows[1:])
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert report["ours_igd"] > 0 and report["pymoo_igd"] > 0 and report["evals"] == 600


def test_benchmark_rejects_a_bad_problem_setup(tmp_path, capsys):
    code = main(["search", "benchmark", "--problem", "zdt1", "--n-obj", "3", "--out", str(tmp_path)])
    assert code == 2
    assert "zdt1 has 2 objectives, not 3" in capsys.readouterr().err
    assert not (tmp_path / "front.csv").exists()


def test_target_flags_are_parsed_or_explained():
    assert parse_target("1.0,60000,2e6") == {"val_accuracy": 1.0, "params": 60000.0, "madds": 2e6}
    with pytest.raises(ValueError, match="3 values ACC,PARAMS,MADDS"):
        parse_target("1.0,60000")
    with pytest.raises(ValueError, match="is not three numbers"):
        parse_target("1.0,big,2e6")


def test_report_only_needs_a_saved_search(tmp_path, capsys):
    assert main(["search", "--out", str(tmp_path), "--report-only"]) == 2
    assert "no saved search in" in capsys.readouterr().err
    assert main(["search", "--out", str(tmp_path), "--report-only", "--overwrite"]) == 2
    assert "cannot go with --overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_vs_peers_on_several_problems(tmp_path, capsys):
    code = main(["search", "benchmark", "--problem", "dtlz1,dtlz2", "--evals", "182", "--runs", "1",
                 "--vs", "optuna-nsga2", "--vs", "pymoo-nsga3", "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "peer/ours IGD all" in printed and "optuna-nsga2" in printed
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert sorted(report["problems"]) == ["dtlz1", "dtlz2"]
    for problem in report["problems"].values():
        assert problem["peers"] == ["optuna-nsga2", "pymoo-nsga3"]
        assert {m["evaluations"][0] for m in problem["methods"].values()} == {182}
        assert problem["per_seed"][0]["optuna-nsga2"]["archive_igd"] > 0
    assert (tmp_path / "front_dtlz1.csv").exists() and (tmp_path / "front_dtlz2.csv").exists()


def test_benchmark_rejects_an_unknown_peer(tmp_path, capsys):
    assert main(["search", "benchmark", "--vs", "optuna-tpe", "--out", str(tmp_path)]) == 2
    assert "unknown peer 'optuna-tpe'" in capsys.readouterr().err
