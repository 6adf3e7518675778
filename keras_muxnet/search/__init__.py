"""Multi-objective architecture search: MOEA/D with PBI (numpy core), a Keras-Tuner oracle, the
MUXNet search space, and the core compared with peers on standard test problems.

The numpy core (decomposition, reference_directions, variation, moead) needs no Keras; import
`keras_muxnet.search.oracle` (MOEADOracle), `.space` (MUXNetHyperModel) for the Keras-Tuner
parts, `.evaluation` (the seeded short accuracy estimate), `.latency_table` / `.exact_latency`
(the latency objective), `.mobilenet_ladder` (the MobileNetV3 reference points) and
`.peer_comparison` for the comparison behind `keras-muxnet search benchmark`.
"""

from keras_muxnet.search.decomposition import pbi, pbi_distances, tchebycheff
from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.reference_directions import concentrated, das_dennis, uniform
from keras_muxnet.search.variation import MixedSpace, Variable

__all__ = ["MOEAD", "MixedSpace", "Variable", "concentrated", "das_dennis", "pbi", "pbi_distances",
           "tchebycheff", "uniform"]
