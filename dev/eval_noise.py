"""Does a larger, harder held-out set rank the search's candidates more stably? (issue 12, section 2)

    PYTHONPATH=. nice -n 10 python dev/eval_noise.py --seed 0 --json OUT [--train-variants]

Trains the random candidates of `keras-muxnet search eval-check` (the draw of --seed) with seeds
SEED and SEED+1, and scores each trained network on several held-out sets at once: the plain 540
digits and `search.digit_variants.Variants` of them (mild and strong). One training serves every
set, so the sets' Kendall's tau are measured on the same networks. Results: docs/search_hardware.md.
"""

import argparse
import os
import time

import numpy as np

from keras_muxnet._files import write_json

SETS = {"mild": dict(copies=8), "strong": dict(copies=8, shift=0.15, scale=0.2, rotation=20.0)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-variants", action="store_true")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()

    from keras_muxnet.cli.search import digits, random_candidates
    from keras_muxnet.search import evaluation
    from keras_muxnet.search.digit_variants import Variants

    build, candidates = random_candidates(32, args.seed, args.candidates)
    (x, y), (xv, yv) = digits(32)
    sets = {"plain": (xv, yv), **{k: Variants(**v).apply(xv, yv) for k, v in SETS.items()}}
    recipe = evaluation.ShortEvaluation(
        epochs=args.epochs,
        train_variants=Variants(copies=3) if args.train_variants else None)
    seeds = (args.seed, args.seed + 1)
    print(recipe, "load", os.getloadavg(), flush=True)
    rows, load, start = [], os.getloadavg(), time.perf_counter()
    for name, spec in candidates:
        row = {"name": name, "blocks": spec.blocks_line()}
        for seed in seeds:
            evaluation.seed_everything(seed)
            model = build(spec)
            result = recipe.score(model, x, y, (xv, yv), seed=seed)
            row[f"seconds{seed}"] = result["seconds"]
            for key, (xs, ys) in sets.items():
                row[f"{key}{seed}"] = evaluation.accuracy(model, xs, ys)
        rows.append(row)
        print(name, {k: round(v, 4) for k, v in row.items() if k not in ("name", "blocks")}, flush=True)
    report = {"recipe": str(recipe), "seeds": seeds, "sets": SETS, "rows": rows,
              "load_before": load, "load_after": os.getloadavg(), "seconds": time.perf_counter() - start}
    for key in sets:
        a = [r[f"{key}{seeds[0]}"] for r in rows]
        b = [r[f"{key}{seeds[1]}"] for r in rows]
        d = 100 * np.abs(np.subtract(a, b))
        report[key] = {"tau": evaluation.kendall_tau(a, b), "median_diff": float(np.median(d)),
                       "max_diff": float(d.max()), "range": 100 * (max(a + b) - min(a + b))}
        print(key, report[key])
    write_json(args.json, report, indent=1)


if __name__ == "__main__":
    main()
