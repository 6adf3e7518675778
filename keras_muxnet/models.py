"""The MUXNet builder and the keras.applications-style constructors MUXNetXS/S/M/L."""

from keras_muxnet import architectures, blocks, imagenet, weights_request
from keras_muxnet._keras import is_keras_tensor, keras

layers = keras.layers

POOLINGS = (None, "avg", "max")


def _input_shape(input_shape, include_top, default_size):
    """Default to the published 224x224 with a classifier, any size without one."""
    if input_shape is None:
        return (default_size, default_size, 3) if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}")
    return input_shape


def MUXNet(spec, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
           pooling=None, classes=1000, classifier_activation="softmax",
           include_preprocessing=True, dropout_rate=None, drop_connect_rate=None, name=None):
    """Build the network described by a `MUXNetSpec` (see keras_muxnet.architectures).

    Arguments follow keras.applications. `dropout_rate` and `drop_connect_rate` default to the
    spec's training values (0.2 and 0.1 x block index / block count for MUXNet-m); both are
    inactive at inference. With `include_preprocessing=True` the model takes RGB in [0, 255] and
    normalizes with the ImageNet mean and std as the authors did; with False it takes input
    that is already normalized. Any channel count works without ImageNet weights: the
    preprocessing then applies the average ImageNet statistics of the three colours to every
    channel (see `imagenet.normalization_layer`).
    """
    if isinstance(spec, str):
        spec = architectures.get_spec(spec)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if include_top and (not isinstance(classes, int) or classes < 1):
        raise ValueError(f"classes must be a positive integer, got {classes!r}")
    dropout_rate = spec.dropout_rate if dropout_rate is None else dropout_rate
    drop_connect_rate = spec.drop_connect_rate if drop_connect_rate is None else drop_connect_rate

    if input_tensor is not None and not is_keras_tensor(input_tensor):
        input_tensor = layers.Input(tensor=input_tensor, shape=input_shape)
    if input_tensor is not None:
        img_input = input_tensor
        shape = tuple(input_tensor.shape[1:])
    else:
        shape = _input_shape(input_shape, include_top, spec.default_size)
        img_input = layers.Input(shape=shape, name="input_layer")
    if shape[-1] != 3 and isinstance(weights, str) and weights == "imagenet":
        raise ValueError(f"input_shape {shape} has {shape[-1]} channels; ImageNet weights take 3 "
                         f"(RGB): use weights=None for other channel counts")
    request = weights_request.resolve(spec, weights, include_top, classes)  # before the slow build

    x = img_input
    if include_preprocessing:
        x = imagenet.normalization_layer(shape[-1])(x)
    x = blocks.conv_bn(x, spec.stem_filters, "stem_", "swish", kernel_size=3, strides=2)

    block_list = spec.blocks()
    for prefix, args, index in block_list:
        rate = drop_connect_rate * index / len(block_list)
        x = blocks.build_block(x, args, prefix, rate)

    x = blocks.conv_bn(x, spec.head_filters, "top_", "swish")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, dtype="float32",  # softmax
                         kernel_initializer=blocks.DENSE_INITIALIZER, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)

    inputs = keras.utils.get_source_inputs(input_tensor) if input_tensor is not None else img_input
    model = keras.Model(inputs, x, name=name or spec.name)
    weights_request.load(model, spec, request)
    return model


def _constructor(spec, label):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True, dropout_rate=None, drop_connect_rate=None, name=None):
        return MUXNet(spec, include_top=include_top, weights=weights, input_tensor=input_tensor,
                      input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation,
                      include_preprocessing=include_preprocessing, dropout_rate=dropout_rate,
                      drop_connect_rate=drop_connect_rate, name=name)

    build.__name__ = build.__qualname__ = label
    build.__doc__ = (f"Instantiate {label} ({spec.name}), keras.applications style.\n\n"
                     f"{spec.note or 'The authors released network.'}\n\n" + MUXNet.__doc__)
    return build


MUXNetXS = _constructor(architectures.MUXNET_XS, "MUXNetXS")
MUXNetS = _constructor(architectures.MUXNET_S, "MUXNetS")
MUXNetM = _constructor(architectures.MUXNET_M, "MUXNetM")
MUXNetL = _constructor(architectures.MUXNET_L, "MUXNetL")
