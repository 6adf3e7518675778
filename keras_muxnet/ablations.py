"""What MUXNet's block choices cost in latency: variants of a spec with one choice taken out.

These are measurement tools, not models to train or ship: `keras-muxnet benchmark
muxnet_m+relu muxnet_m+no-se ... --vs MobileNetV3Large` times them beside the real network and a
peer, which separates what an architecture costs on a runtime from what an implementation costs
(the export rewrites must keep the function; an ablation does not). The stem and head keep
their swish.
"""

import dataclasses

from keras_muxnet.architectures import decode_block, encode_block, get_spec


def _relu(args):
    return dataclasses.replace(args, activation="relu")


def _no_se(args):
    return dataclasses.replace(args, se_ratio=0.0)


def _depthwise_mux(args):
    """A mux block's grouped conv (2 channels per group) as a plain depthwise conv."""
    if args.block_type == "mux" and args.scales is None:
        return dataclasses.replace(args, scales=(0,))
    return args


ABLATIONS = {
    "relu": _relu,                    # swish (LOGISTIC + MUL in TFLite) -> ReLU, in every block
    "no-se": _no_se,                  # no squeeze-excitation anywhere
    "depthwise-mux": _depthwise_mux,  # 2-channel groups -> 1: half the kxk work, no pair swap
}


def ablate(spec, names):
    """`spec` with every block changed by the named ablations, in order."""
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; choose from {sorted(ABLATIONS)}")
    stages = []
    for stage in spec.stages:
        blocks = []
        for block in stage:
            args = decode_block(block)
            for name in names:
                args = ABLATIONS[name](args)
            blocks.append(encode_block(args))
        stages.append(tuple(blocks))
    # '-' not '+' in the name: tf_keras only takes [A-Za-z0-9_.\\/>-] in a model's name scope
    return dataclasses.replace(spec, name="-".join([spec.name, *names]), stages=tuple(stages),
                               published=False, note="An ablation for latency measurements only.")


def resolve(name):
    """A spec from 'muxnet_m' or 'muxnet_m+relu+no-se' (a variant, then ablations)."""
    variant, *names = str(name).split("+")
    spec = get_spec(variant)
    return ablate(spec, names) if names else spec
