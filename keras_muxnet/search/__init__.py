"""Multi-objective architecture search: MOEA/D with PBI (numpy core), a Keras-Tuner oracle, the
MUXNet search space and a benchmark against pymoo.

The numpy core (decomposition, reference_directions, variation, moead) needs no Keras; import
`keras_muxnet.search.oracle` / `.space` for the Keras-Tuner parts.
"""

from keras_muxnet.search.decomposition import pbi, pbi_distances, tchebycheff
from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.reference_directions import concentrated, das_dennis, uniform
from keras_muxnet.search.variation import MixedSpace, Variable
