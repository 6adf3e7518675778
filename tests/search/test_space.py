import keras_tuner
import numpy as np
import pytest

from keras_muxnet import profiler
from keras_muxnet.architectures import MUXNetSpec, decode_block
from keras_muxnet.models import MUXNet
from keras_muxnet.search.latency_table import INVOKE_KEY, LatencyTable, network_parts
from keras_muxnet.search.space import (ACTIVATIONS, CAPPED_KERNELS, MUXNetHyperModel, candidate_spec,
                                       named_objectives)

SMALL = dict(widths=(16, 24, 32, 48), stem_filters=16, head_filters=64)


def values(kernel=5, expand=4, blocks=2, leave_out=0.5, scales="-1.0"):
    out = {}
    for stage in range(1, 5):
        out.update({f"stage{stage}_kernel": kernel, f"stage{stage}_expand": expand,
                    f"stage{stage}_blocks": blocks, f"stage{stage}_leave_out": leave_out,
                    f"stage{stage}_scales": scales})
    return out


def test_candidate_is_a_variant_definition_that_round_trips():
    spec = candidate_spec(values(kernel=7, blocks=3, leave_out=0.25), widths=(16, 24, 32, 48))
    rebuilt = eval(spec.describe(), {"MUXNetSpec": MUXNetSpec})
    assert rebuilt.stages == spec.stages and rebuilt.head_filters == spec.head_filters
    blocks = [args for _, args, _ in spec.blocks()]
    assert len(blocks) == 1 + 4 * (1 + 3)
    assert all(b.se_ratio > 0 for b in blocks)  # SE always on
    assert {b.activation for b in blocks[:5]} == {"relu"} and {b.activation for b in blocks[5:]} == {"swish"}
    mux = [b for b in blocks if b.block_type == "mux"]
    assert {b.kernel_sizes for b in mux} == {(7,)} and {b.leave_out_ratio for b in mux} == {0.25}
    assert {b.scales for b in mux} == {(-1, 0)}
    assert decode_block(spec.stages[1][0]).strides == 2 and decode_block(spec.stages[3][0]).strides == 1


def offline_table(path, spec, size, classes):
    """A table holding given figures for the parts of `spec` (1 ms each, 0.25 ms to invoke)."""
    table = LatencyTable(str(path), conditions={"machine": "test device", "threads": 1, "quantize": None})
    for part in network_parts(spec, size, classes):
        table.record(part.key, 1.0, 1000)
    table.record(INVOKE_KEY, 0.25, 100)
    return table


def test_latency_is_the_tables_prediction_and_objectives_are_checked(tmp_path):
    model_values = values(kernel=3, expand=3, blocks=1, scales="0")
    spec = candidate_spec(model_values, **SMALL)
    table = offline_table(tmp_path / "table.json", spec, 32, 4)
    hypermodel = MUXNetHyperModel(input_shape=(32, 32, 3), classes=4, latency_table=table,
                                  objectives=["val_accuracy", "latency_ms", "params"], **SMALL)
    assert [o.name for o in hypermodel.objectives] == ["val_accuracy", "latency_ms", "params"]
    assert [o.direction for o in hypermodel.objectives] == ["max", "min", "min"]
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    hp.values.update(model_values)
    parts = len(network_parts(spec, 32, 4))  # stem, 1 + 4 * 2 blocks, head
    assert parts == 11 and hypermodel.latency_ms(hp) == pytest.approx(parts * 1.0 - (parts - 1) * 0.25)
    assert MUXNetHyperModel(**SMALL).latency_ms(hp) is None

    with pytest.raises(ValueError, match=r"unknown objective\(s\) \['speed'\]: the hypermodel reports "
                                         r"val_accuracy, params, madds, latency_ms"):
        named_objectives("val_accuracy,speed")
    with pytest.raises(ValueError, match="latency_ms needs a latency table.*reports val_accuracy, params, madds$"):
        MUXNetHyperModel(objectives=["val_accuracy", "latency_ms"], **SMALL)


@pytest.mark.slow
def test_fit_reports_exact_params_and_madds_of_the_candidate(tmp_path):
    model_values = values(kernel=3, expand=3, blocks=1, scales="0")
    table = offline_table(tmp_path / "table.json", candidate_spec(model_values, **SMALL), 32, 4)
    hypermodel = MUXNetHyperModel(input_shape=(32, 32, 3), classes=4, latency_table=table, **SMALL)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    hp.values.update(model_values)
    model = hypermodel.build(hp)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 32, 32, 3)).astype("float32"), rng.integers(0, 4, 8)
    metrics = hypermodel.fit(hp, model, x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0)
    spec = candidate_spec(model_values, **SMALL)
    again = profiler.profile(MUXNet(spec, weights=None, input_shape=(32, 32, 3), classes=4,
                                    include_preprocessing=False))
    assert metrics["params"] == again.params and metrics["madds"] == again.madds > 0
    assert 0.0 <= metrics["val_accuracy"] <= 1.0 and "multi_objective" in metrics
    assert metrics["latency_ms"] == pytest.approx(hypermodel.latency_ms(hp))


def test_unbuildable_candidate_fails_its_trial_with_the_reason():
    hypermodel = MUXNetHyperModel(input_shape=(32, 32, 3), classes=4, **SMALL)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    hp.values.update(values(expand=3, leave_out=0.25, scales="-1.0.1"))
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="candidate cannot be built: .*superpixel"):
        hypermodel.build(hp)


def test_space_needs_four_stages():
    with pytest.raises(ValueError, match="four searched stages"):
        MUXNetHyperModel(widths=(16, 24, 32))


def extended_values(activation="hard_swish", se=False, scales="0", blocks=1, kernel=5):
    out = values(kernel=kernel, expand=3, blocks=blocks, scales=scales)
    for stage in range(1, 5):
        out.update({f"stage{stage}_activation": activation, f"stage{stage}_se": se})
    return out


def test_extended_choices_reach_the_spec_and_round_trip():
    hypermodel = MUXNetHyperModel(kernels=CAPPED_KERNELS, normal_blocks=(0, 1), scales=("0", "-1.0"),
                                  activations=ACTIVATIONS, squeeze_excite=(True, False), **SMALL)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    assert hp.space[0].name == "stage1_kernel" and tuple(hp.space[0].values) == (3, 5)
    assert {p.name for p in hp.space} >= {"stage3_activation", "stage4_se", "stage2_blocks"}
    spec = candidate_spec(extended_values(blocks=0), **SMALL)
    assert all(len(stage) == 1 for stage in spec.stages[1:])  # reduction blocks only
    spec = candidate_spec(extended_values(), **SMALL)
    blocks = [args for _, args, _ in spec.blocks()][1:]
    assert {b.activation for b in blocks} == {"hard_swish"} and {b.se_ratio for b in blocks} == {0.0}
    assert {b.scales for b in blocks if b.block_type == "mux"} == {(0,)}  # depthwise, no 2-channel groups
    assert "_nhs" in spec.stages[1][1]
    assert eval(spec.describe(), {"MUXNetSpec": MUXNetSpec}).stages == spec.stages
    with pytest.raises(ValueError, match=r"invalid activation choice\(s\) \['gelu'\]; choose from"):
        MUXNetHyperModel(activations=("relu", "gelu"), **SMALL)
    with pytest.raises(ValueError, match=r"invalid kernel choice\(s\) \[4\]"):
        MUXNetHyperModel(kernels=(3, 4), **SMALL)
    with pytest.raises(ValueError, match="at least one se choice"):
        MUXNetHyperModel(squeeze_excite=(), **SMALL)


@pytest.mark.slow
@pytest.mark.both_modes
def test_extended_candidate_exports_exactly_with_hard_swish():
    from keras_muxnet.export import runtime, tflite

    spec = candidate_spec(extended_values(), widths=(8, 16, 16, 24), stem_filters=8, head_filters=32)
    mixed = candidate_spec(extended_values(activation="relu", se=True, scales="-1.0", kernel=3),
                           widths=(8, 16, 16, 24), stem_filters=8, head_filters=32)
    spec = MUXNetSpec(name="extended", stages=spec.stages[:3] + mixed.stages[3:], stem_filters=8,
                      head_filters=32, published=False)
    model = MUXNet(spec, weights=None, input_shape=(32, 32, 3), classes=4)
    exported = runtime.TFLiteModel(tflite.convert(model))
    assert "HARD_SWISH" in exported.ops()
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(exported(x), np.asarray(model(x)), atol=1e-5)


def test_width_choice_scales_the_stages_and_keys_the_latency_parts(tmp_path):
    from keras_muxnet.search.space import WIDTH_MULTIPLIERS, stage_width

    assert [stage_width(16, m) for m in WIDTH_MULTIPLIERS] == [4, 8, 16, 24]
    assert [stage_width(48, m) for m in WIDTH_MULTIPLIERS] == [12, 24, 48, 72]
    hypermodel = MUXNetHyperModel(width_multipliers=WIDTH_MULTIPLIERS, scales=("0",), **SMALL)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    assert tuple(next(p for p in hp.space if p.name == "stage2_width").values) == WIDTH_MULTIPLIERS
    base = values(blocks=1, scales="0")
    wide = {**base, **{f"stage{s}_width": m for s, m in zip(range(1, 5), (0.25, 0.5, 1.0, 1.5))}}
    spec = candidate_spec(wide, **SMALL)
    # Every block of a stage has the stage's width, written into the block strings.
    assert [decode_block(b).filters for stage in spec.stages[1:] for b in stage] == [4, 4, 12, 12, 32, 32, 72, 72]
    # Values saved before the width choice existed (no stageN_width) rebuild the base widths.
    assert candidate_spec(base, **SMALL).stages == candidate_spec(
        {**base, **{f"stage{s}_width": 1.0 for s in range(1, 5)}}, **SMALL).stages
    # The latency table keys each part by its input shape and block string, widths included.
    keys = {p.key for p in network_parts(spec, 32, 4)}
    assert {"16x16x16|ir_r1_k5_s2_e4_c4_se0.75_nre", "4x4x12|ir_r1_k5_s1_e4_c32_se0.75_nsw",
            "2x2x72|head_c64_n4"} <= keys
    with pytest.raises(ValueError, match=r"invalid width choice\(s\) \[0\]"):
        MUXNetHyperModel(width_multipliers=(0, 1.0), **SMALL)
