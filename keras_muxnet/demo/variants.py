"""Demo step: every variant's size and cost beside the paper's Table 1."""


def step_profiles(ctx):
    """Build every variant and compare its size and cost with the paper's Table 1."""
    from keras_muxnet.architectures import SPECS
    from keras_muxnet.cli.info import format_table, profile_row

    print(format_table([profile_row(name) for name in SPECS]))
