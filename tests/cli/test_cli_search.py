import csv
import json
import re

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
    assert parse_target("1.0,0.2", ("val_accuracy", "latency_ms")) == {"val_accuracy": 1.0, "latency_ms": 0.2}
    with pytest.raises(ValueError, match="3 values VAL_ACCURACY,PARAMS,MADDS"):
        parse_target("1.0,60000")
    with pytest.raises(ValueError, match="is not 3 numbers"):
        parse_target("1.0,big,2e6")


def test_unknown_objective_is_named_with_the_available_ones(tmp_path, capsys):
    assert main(["search", "--objectives", "val_accuracy,latency,params", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown objective(s) ['latency']" in err and "val_accuracy, params, madds, latency_ms" in err
    assert main(["search", "--objectives", "val_accuracy,latency_ms", "--target", "1.0,0.1,5",
                 "--out", str(tmp_path)]) == 2
    assert "a reference target has 2 values VAL_ACCURACY,LATENCY_MS" in capsys.readouterr().err


def test_latency_check_needs_its_report_path(tmp_path, capsys):
    assert main(["search", "latency-check", "--out", str(tmp_path)]) == 2
    assert "--json OUT" in capsys.readouterr().err
    assert main(["search", "latency-check", "--json", str(tmp_path / "c.json"), "--archs", "1"]) == 2
    assert "--archs must be at least 2" in capsys.readouterr().err


def test_peers_and_eval_check_options_are_checked(tmp_path, capsys):
    assert main(["search", "--target-like", "ResNet50", "--out", str(tmp_path)]) == 2
    assert "cannot build 'ResNet50' as a peer: the ladder has MobileNetV3Small" in capsys.readouterr().err
    assert main(["search", "--peers", "MobileNetV3Small:x", "--out", str(tmp_path)]) == 2
    assert "width of peer 'MobileNetV3Small:x' is not a number" in capsys.readouterr().err
    assert main(["search", "--size", "16", "--out", str(tmp_path)]) == 2
    assert "the MobileNetV3 peers need --size 32 or more (got 16)" in capsys.readouterr().err
    assert main(["search", "eval-check", "--out", str(tmp_path)]) == 2
    assert "--json OUT" in capsys.readouterr().err
    assert main(["search", "eval-check", "--json", str(tmp_path / "e.json"), "--candidates", "2"]) == 2
    assert "--candidates must be at least 3" in capsys.readouterr().err
    assert main(["search", "eval-check", "--json", str(tmp_path / "e.json"), "--train-copies", "0"]) == 2
    assert "--train-copies must be at least 1 (1: the images as they are), got 0" in capsys.readouterr().err
    assert main(["search", "--held-out-copies", "-1", "--out", str(tmp_path)]) == 2
    assert "--held-out-copies must be at least 1" in capsys.readouterr().err
    assert main(["search", "--latency", "exact", "--latency-table", str(tmp_path / "t.json"),
                 "--out", str(tmp_path)]) == 2
    assert "--latency exact times each candidate whole; it takes no --latency-table" in capsys.readouterr().err


def test_the_commands_space_is_the_extended_one_and_needs_no_table():
    import keras_tuner

    from keras_muxnet.cli.search import hypermodel

    space = hypermodel(32)  # as eval-check and latency-check build it
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    choices = {p.name: tuple(p.values) for p in hp.space}
    assert choices["stage2_activation"] == ("relu", "hard_swish", "swish")
    assert choices["stage2_se"] == (True, False) and choices["stage2_kernel"] == (3, 5)
    assert choices["stage2_blocks"] == (0, 1, 2) and "0" in choices["stage2_scales"]
    assert choices["stage4_width"] == (0.25, 0.5, 1.0, 1.5)
    assert [o.name for o in space.objectives] == ["val_accuracy", "params", "madds"]


def test_random_candidates_repeat_for_a_seed_and_build_ten_class_classifiers():
    from keras_muxnet.cli.search import random_candidates

    build, candidates = random_candidates(32, seed=3, count=3)
    _, again = random_candidates(32, seed=3, count=3)
    _, other = random_candidates(32, seed=4, count=3)
    blocks = [spec.blocks_line() for _, spec in candidates]
    assert len(candidates) == 3 and blocks == [spec.blocks_line() for _, spec in again]
    assert blocks != [spec.blocks_line() for _, spec in other]
    model = build(candidates[0][1])
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 10)


def test_progress_bar_counts_and_estimates():
    import time

    from keras_muxnet.cli.search import progress_bar

    line = progress_bar(5, 20, time.perf_counter() - 62)
    assert line.startswith("[#####" + "-" * 15 + "]  5/20  1:02 elapsed, ~3:0")
    assert "left" not in progress_bar(0, 4, time.perf_counter())


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


def device_table_for_the_space(path, size):
    """A device's table (figures given, as read back from a phone) with an entry for every part
    the search space can produce at size x size: the search then runs offline on it."""
    import itertools

    import keras_tuner

    from keras_muxnet.cli.search import HEAD, STEM, WIDTHS, hypermodel
    from keras_muxnet.search.device_table import device_signature
    from keras_muxnet.search.latency_table import INVOKE_KEY, LatencyTable, network_parts
    from keras_muxnet.search.space import candidate_spec

    table = LatencyTable(str(path), conditions=device_signature("test phone", "benchmark_model 2.16"))
    space = hypermodel(size)
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    # A part depends on its own stage's choices and, for a reduction block, on the width of the
    # stage before (its input), not on repeats or other stages. So candidates with one normal
    # block whose stages all take the same choices cover every mux part, and reduction-only
    # candidates whose stages alternate between two widths a, b (every ordered pair) cover every
    # reduction block after every input width.
    choices = {p.name.split("_", 1)[1]: tuple(p.values) for p in hp.space}
    choices["blocks"] = (1,)
    candidates = [[dict(zip(choices, combination))] * 4 for combination in itertools.product(*choices.values())]
    reduction = [key for key in choices if key in ("kernel", "expand", "activation", "se")]
    for combination, widths in itertools.product(itertools.product(*(choices[k] for k in reduction)),
                                                 itertools.product(choices["width"], repeat=2)):
        stage = {**dict(zip(reduction, combination)), "blocks": 0, "leave_out": 0.5, "scales": "0"}
        candidates.append([{**stage, "width": widths[number % 2]} for number in range(4)])
    for stages in candidates:
        values = {f"stage{number}_{key}": value for number, stage in enumerate(stages, start=1)
                  for key, value in stage.items()}
        for part in network_parts(candidate_spec(values, WIDTHS, STEM, HEAD), size, classes=10):
            table.record(part.key, 0.001 * len(part.key), 1000)  # any positive figure
    table.record(INVOKE_KEY, 0.001, 100)
    table.save()
    return table


@pytest.mark.slow
def test_search_with_latency_as_an_objective(tmp_path, capsys):
    # The command's tuner and report on 16 random images (the digits take a minute a trial).
    import numpy as np

    from keras_muxnet.cli.search import make_tuner, write_results

    table = device_table_for_the_space(tmp_path / "phone.json", 32)
    tuner = make_tuner(str(tmp_path / "tuner"), 1, 2, 2, 5.0, None, 32, 0, True,
                       objectives="val_accuracy,latency_ms,params", latency_table=table)
    assert [o.name for o in tuner.oracle.objectives] == ["val_accuracy", "latency_ms", "params"]
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (16, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 16)
    tuner.search(x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0)
    printed = capsys.readouterr().out
    assert re.search(r"trial 1/1: accuracy [0-9.]+, [0-9,]+ params, [0-9,]+ MAdds, [0-9.]+ ms", printed), printed
    rows = write_results(tuner, str(tmp_path), None)
    spec = tuner.hypermodel.spec(tuner.oracle.trials[rows[0]["trial_id"]].hyperparameters)
    assert rows[0]["latency_ms"] == pytest.approx(table.predict(spec, 32, classes=10)[0])
    with open(tmp_path / "trials.csv") as stream:
        assert {"val_accuracy", "latency_ms", "params", "madds"} <= set(next(csv.DictReader(stream)))
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_a_device_table_is_used_in_its_own_mode(tmp_path, capsys):
    from keras_muxnet.search.device_table import device_signature
    from keras_muxnet.search.latency_table import LatencyTable

    LatencyTable(str(tmp_path / "phone.json"), conditions=device_signature("phone", "2.16")).save()
    assert main(["search", "--objectives", "val_accuracy,latency_ms", "--quantize", "int8",
                 "--latency-table", str(tmp_path / "phone.json"), "--out", str(tmp_path)]) == 2
    assert "holds float32 figures with 1 thread(s); give --quantize none" in capsys.readouterr().err


@pytest.mark.slow  # matplotlib's import and figure: seconds on a loaded machine
def test_results_carry_the_peers_and_the_measured_front(tmp_path):
    from keras_muxnet.cli.search import write_results

    rows = [{"trial_id": str(i), "status": "COMPLETED", "pareto_rank": rank, "val_accuracy": acc,
             "params": 1000 * (i + 1), "madds": 5000 * (i + 1), "latency_ms": 0.1 * (i + 1),
             "latency_ms_measured": measured, "blocks": "ds_r1_k3_s1_e1_c8_se0.25_nre"}
            for i, (rank, acc, measured) in enumerate([(1, 0.97, 0.11), (None, 0.9, None), (2, 0.95, 0.05)])]
    peers = {"MobileNetV3Small": {"model": "MobileNetV3Small", "val_accuracy": 0.96, "latency_ms": 0.2,
                                  "params": 10 ** 6, "madds": 2 * 10 ** 6, "latency_ms_alone": 0.21,
                                  "dominated_by": "trial 0"}}
    write_results(rows, str(tmp_path), None, peers)
    with open(tmp_path / "trials.csv") as stream:
        trials = list(csv.DictReader(stream))
    with open(tmp_path / "peers.csv") as stream:
        peer_rows = list(csv.DictReader(stream))
    assert {"val_accuracy", "latency_ms", "params", "madds", "latency_ms_measured"} <= set(trials[0])
    assert [t["latency_ms_measured"] for t in trials] == ["0.11", "", "0.05"]
    assert {"val_accuracy", "latency_ms", "params", "madds", "dominated_by"} <= set(peer_rows[0])
    assert peer_rows[0]["model"] == "MobileNetV3Small" and peer_rows[0]["dominated_by"] == "trial 0"
    saved = json.loads((tmp_path / "trials.json").read_text())
    assert saved["peers"]["MobileNetV3Small"]["latency_ms"] == 0.2
    assert (tmp_path / "pareto.png").stat().st_size > 0
