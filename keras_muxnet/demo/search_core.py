"""Demo step: the MOEA/D search core beside pymoo's on a standard test problem."""

import os


def step_search_core(ctx):
    """MOEA/D core vs pymoo's MOEA/D on DTLZ2 (3 objectives, 10 generations): IGD side by side."""
    from keras_muxnet.search import peer_comparison

    summary = peer_comparison.compare("dtlz2", 3, evals=910, seeds=(0,))
    path = os.path.join(ctx["out"], "front.csv")
    peer_comparison.write_front(summary["rows"][0]["front"], path)
    print(f"IGD ours {summary['ours_igd']:.4f}, pymoo {summary['pymoo_igd']:.4f} "
          f"(ratio {summary['igd_ratio']:.2f}); front written to {path}")
