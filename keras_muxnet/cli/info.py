"""`keras-muxnet info MODEL`: parameters and multiply-adds beside the paper's figures."""


def register(subparsers):
    parser = subparsers.add_parser("info", help="parameters and MAdds of a variant vs the paper")
    parser.add_argument("model", help="muxnet_xs, muxnet_s, muxnet_m or muxnet_l")
    parser.add_argument("--size", type=int, nargs=2, default=(224, 224), metavar=("H", "W"))
    parser.add_argument("--layers", action="store_true", help="print the per-layer table")
    parser.set_defaults(func=run)


def profile_row(name, size=(224, 224), detail=False):
    """(profile, paper figures) of a named variant at `size`, built with random weights."""
    from keras_muxnet import architectures, paper, profiler
    from keras_muxnet.models import MUXNet

    spec = architectures.get_spec(name)
    model = MUXNet(spec, weights=None, input_shape=(*size, 3))
    return spec, profiler.profile(model, detail=detail), paper.TABLE_1.get(spec.name)


def format_table(rows):
    lines = [f"{'model':10s} {'params':>11s} {'paper':>6s} {'ratio':>6s} "
             f"{'MAdds':>13s} {'paper':>6s} {'ratio':>6s}  source"]
    for spec, prof, fig in rows:
        lines.append(
            f"{spec.name:10s} {prof.params:>11,d} {fig.params / 1e6:>5.1f}M {prof.params / fig.params:>6.3f} "
            f"{prof.madds:>13,d} {fig.madds / 1e6:>5.0f}M {prof.madds / fig.madds:>6.3f}  "
            f"{'authors' if spec.published else 'derived here'}")
    return "\n".join(lines)


def run(args):
    spec, prof, fig = profile_row(args.model, tuple(args.size), detail=args.layers)
    if args.layers:
        print(prof.table())
    print(prof)
    if tuple(args.size) == (224, 224):
        print(format_table([(spec, prof, fig)]))
    if spec.note:
        print(spec.note)
