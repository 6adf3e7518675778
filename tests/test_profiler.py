import pytest

from keras_muxnet import architectures, paper
from keras_muxnet.models import MUXNet
from keras_muxnet.profiler import profile

pytestmark = pytest.mark.both_modes


@pytest.mark.parametrize("name, params, madds", [
    ("muxnet_m", 3_354_276, 216_808_112),
    ("muxnet_l", 4_041_178, 316_454_832),
])
def test_exact_counts_of_the_reference_implementation(name, params, madds):
    result = profile(MUXNet(name, weights=None))
    assert (result.params, result.madds) == (params, madds)
    assert result.keras_params > result.params  # Keras also counts BN moving statistics


@pytest.mark.parametrize("name", ["muxnet_xs", "muxnet_s"])
def test_derived_variants_meet_the_paper_budget(name):
    result = profile(MUXNet(name, weights=None))
    figures = paper.TABLE_1[name]
    assert abs(result.params / figures.params - 1) <= 0.05
    assert abs(result.madds / figures.madds - 1) <= 0.05


def test_per_layer_rows_add_up_and_name_layers():
    result = profile(MUXNet("muxnet_m", weights=None), detail=True)
    rows = {row.name: row for row in result.layers}
    assert sum(r.madds for r in result.layers) == result.madds
    assert rows["stem_conv"].madds == 112 * 112 * 24 * 3 * 3 * 3
    # grouped 3x3 conv of block2b: 12 processed channels x4 = 48, 24 groups of 2
    assert rows["block2b_gconv"].madds == 56 * 56 * 48 * 3 * 3 * 2
    assert rows["predictions"].madds == 1280 * 1000
    assert rows["stem_bn"].params == 48
    assert "block6a_dwconv" in result.table()


def test_any_size_model_needs_a_size():
    model = MUXNet("muxnet_m", weights=None, include_top=False)
    with pytest.raises(ValueError, match="pass input_shape"):
        profile(model)
    at_224 = profile(model, input_shape=(224, 224))
    at_112 = profile(model, input_shape=(112, 160))
    assert at_224.params == at_112.params
    assert at_112.madds < at_224.madds
