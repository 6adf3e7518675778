"""`keras-muxnet search`: tri-objective MUXNet search (accuracy, params, MAdds) with MOEADOracle.

`keras-muxnet search [run]` trains each candidate briefly on scikit-learn's digits (no download)
and writes DIR/trials.csv, DIR/trials.json and DIR/pareto.png; `keras-muxnet search benchmark`
compares our MOEA/D core with pymoo's on DTLZ1/DTLZ2/ZDT1 and writes DIR/front.csv.
"""

import csv
import os
import time

from keras_muxnet._files import atomic_output, write_json

WIDTHS, STEM, HEAD = (16, 24, 32, 48), 16, 128  # a MUXNet small enough for digits on 2 cores
# Spatial multiplexing (-1, 0) or none (0); both depthwise: the plain grouped kxk convolution
# ("none" in the full space) trains ~50x slower on CPU in TensorFlow (grouped conv gradients).
SCALES = ("0", "-1.0")
PROJECT = "muxnet_digits"


def register(subparsers):
    parser = subparsers.add_parser("search", help="multi-objective MUXNet search (or its benchmark)",
                                   description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=("run", "benchmark"))
    parser.add_argument("--out", default="search_out", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    run = parser.add_argument_group("search (run)")
    run.add_argument("--trials", type=int, default=12, help="candidates to train (default 12)")
    run.add_argument("--population", type=int, default=6, help="MOEA/D population (default 6)")
    run.add_argument("--neighbours", type=int, default=3, help="neighbourhood size (default 3)")
    run.add_argument("--theta", type=float, default=5.0, help="PBI penalty (default 5)")
    run.add_argument("--epochs", type=int, default=2, help="training epochs per candidate (default 2)")
    run.add_argument("--size", type=int, default=32, help="image side the digits are resized to")
    run.add_argument("--target", action="append", default=None, metavar="ACC,PARAMS,MADDS",
                     help="reference target (repeatable), e.g. 1.0,60000,2e6")
    run.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    run.add_argument("--report-only", action="store_true",
                     help="write the table and figure of the search saved in --out, without searching")
    bench = parser.add_argument_group("benchmark")
    bench.add_argument("--problem", default="dtlz2",
                       help="dtlz1, dtlz2, zdt1, a comma list of them, or 'all' (default dtlz2)")
    bench.add_argument("--n-obj", type=int, default=None,
                       help="objectives (default: 3 for DTLZ, 2 for ZDT1)")
    bench.add_argument("--vs", action="append", default=None, metavar="PEER[,PEER]",
                       help="peers to compare with (repeatable or comma list): optuna-nsga2, optuna-nsga3, "
                            "pymoo-moead, pymoo-nsga3 (default pymoo-moead)")
    bench.add_argument("--evals", type=int, default=9100)
    bench.add_argument("--runs", type=int, default=5, help="seeds seed, seed+1, ... (median)")
    bench.add_argument("--concentration", action="store_true",
                       help="also measure concentration around reference targets (DTLZ2)")
    bench.add_argument("--overhead", action="store_true",
                       help="also time MOEADOracle vs RandomSearch per trial in Keras-Tuner")
    parser.set_defaults(func=main)


def main(args):
    return benchmark(args) if args.action == "benchmark" else search(args)


# --- benchmark ---------------------------------------------------------------------------------
def benchmark(args):
    from keras_muxnet.search import peer_comparison as bench
    from keras_muxnet.search import peers

    if args.evals < 1 or args.runs < 1:
        raise ValueError(f"--evals and --runs must be positive, got {args.evals}, {args.runs}")
    problems = parse_problems(args.problem, bench.PROBLEMS)
    vs = peers.parse_peers(args.vs or ["pymoo-moead"])
    for problem in problems:  # checks each combination before any work
        n_obj = args.n_obj or bench.default_n_obj(problem)
        bench.get_problem(problem, n_obj)
        for name in vs:
            peers.require(name)
            peers.check_budget(name, args.evals, n_obj)
    seeds = tuple(range(args.seed, args.seed + args.runs))
    reports = {}
    for problem in problems:
        n_obj = args.n_obj or bench.default_n_obj(problem)
        print(f"{problem} with {n_obj} objectives, {args.evals} evaluations, seeds {list(seeds)}, "
              f"ours vs {', '.join(vs)}")
        summary = bench.compare(problem, n_obj, args.evals, seeds, vs=vs)
        path = os.path.join(args.out, "front.csv" if len(problems) == 1 else f"front_{problem}.csv")
        bench.write_front(summary["rows"][0]["front"], path)
        print_peer_table(summary)
        print(f"our front of seed {seeds[0]} ({len(summary['rows'][0]['front'])} solutions) -> {path}")
        report = {k: v for k, v in summary.items() if k != "rows"}
        report["per_seed"] = [
            {"seed": row["seed"], **{name: {k: v for k, v in row[name].items() if k not in ("archive", "population")}
                                    for name in ("ours",) + vs}}
            for row in summary["rows"]]
        reports[problem] = report
    report = reports[problems[0]] if len(problems) == 1 else {"problems": reports}
    if args.concentration:
        result = bench.concentration(next((p for p in problems if p != "zdt1"), "dtlz2"), 3,
                                     args.evals, args.seed)
        print(f"median PBI d2 to the target directions {result['targets_used']}: "
              f"with targets {result['targets']:.4f}, uniform {result['uniform']:.4f} "
              f"({result['uniform'] / max(result['targets'], 1e-12):.1f}x closer)")
        report["concentration"] = {k: v for k, v in result.items() if not k.endswith("_front")}
    if args.overhead:
        result = bench.oracle_overhead()
        print(f"Keras-Tuner seconds per trial (trivial objective, {result['n_trials']} trials): "
              f"MOEADOracle {result['moead_seconds_per_trial'] * 1e3:.1f} ms, RandomSearch "
              f"{result['random_seconds_per_trial'] * 1e3:.1f} ms, ratio {result['ratio']:.2f}; "
              f"the oracles' own decisions: {result['moead_decision_seconds_per_trial'] * 1e3:.2f} ms vs "
              f"{result['random_decision_seconds_per_trial'] * 1e3:.2f} ms, ratio {result['decision_ratio']:.2f}")
        print(f"  CPU time per trial: MOEADOracle {result['moead_cpu_seconds_per_trial'] * 1e3:.1f} ms, "
              f"RandomSearch {result['random_cpu_seconds_per_trial'] * 1e3:.1f} ms, ratio {result['cpu_ratio']:.2f}")
        report["overhead"] = result
    write_json(os.path.join(args.out, "benchmark.json"), report, indent=1)
    return 0


def parse_problems(text, known):
    """'all', one name or a comma list -> tuple of problem names (each checked)."""
    names = known if text.strip().lower() == "all" else tuple(
        n.strip().lower() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(f"unknown problem(s) {unknown or text!r}; expected 'all' or a comma list of {known}")
    return tuple(dict.fromkeys(names))


def print_peer_table(summary):
    """Median indicators of every method, and each peer's IGD over ours (> 1: ours is better)."""
    ours = summary["methods"]["ours"]

    def cell(value, width=9):
        return f"{'-':>{width}}" if value is None else f"{value:{width}.5f}"

    print(f"  {'method':<14}{'IGD pop':>9}{'HV pop':>9}{'IGD all':>9}{'HV all':>9}"
          f"{'peer/ours IGD pop':>19}{'peer/ours IGD all':>19}  evaluations per seed, median s")
    for name, m in summary["methods"].items():
        ratios = ["", ""]
        if name != "ours":
            ratios = [f"{m['igd'] / ours['igd']:.3f}" if m["igd"] is not None else "-",
                      f"{m['archive_igd'] / ours['archive_igd']:.3f}"]
        print(f"  {name:<14}{cell(m['igd'])}{cell(m['hv'])}{cell(m['archive_igd'])}{cell(m['archive_hv'])}"
              f"{ratios[0]:>19}{ratios[1]:>19}  {m['evaluations']}, {m['seconds']:.1f} s")
    print("median IGD: " + "  ".join(
        f"{name} {m['igd'] if m['igd'] is not None else m['archive_igd']:.5f}"
        + ("" if m["igd"] is not None else " (all evaluated)") for name, m in summary["methods"].items()))


# --- search --------------------------------------------------------------------------------------
def parse_target(text):
    """'ACC,PARAMS,MADDS' -> {"val_accuracy": .., "params": .., "madds": ..}."""
    parts = text.split(",")
    if len(parts) != 3:
        raise ValueError(f"a reference target has 3 values ACC,PARAMS,MADDS, got {text!r}")
    try:
        accuracy, params, madds = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"reference target {text!r} is not three numbers") from None
    return {"val_accuracy": accuracy, "params": params, "madds": madds}


def make_tuner(directory, trials, population, neighbours, theta, targets, size, seed, overwrite,
               project_name=None):
    """A Keras-Tuner Tuner over the MUXNet space (small widths for digits) with MOEADOracle."""
    import keras_tuner

    from keras_muxnet.search.oracle import MOEADOracle
    from keras_muxnet.search.space import OBJECTIVES, MUXNetHyperModel

    class ProgressTuner(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            # Build and fit directly: Keras-Tuner's default run_trial imports tensorboard
            # (for its TensorBoard hook) even when no TensorBoard callback is used.
            hp = trial.hyperparameters
            return self.hypermodel.fit(hp, self.hypermodel.build(hp), *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            stored = self.oracle.get_trial(trial.trial_id)
            done = sum(t.status in ("COMPLETED", "FAILED") for t in self.oracle.trials.values())
            if stored.status == "COMPLETED":
                m = stored.metrics
                print(f"trial {done}/{trials}: accuracy {m.get_best_value('val_accuracy'):.3f}, "
                      f"{int(m.get_best_value('params')):,} params, "
                      f"{int(m.get_best_value('madds')):,} MAdds", flush=True)
            else:
                errors = [line for line in (stored.message or "").splitlines() if "Error: " in line]
                print(f"trial {done}/{trials}: {stored.status} "
                      f"({errors[-1].strip() if errors else 'no message'})", flush=True)

    oracle = MOEADOracle(list(OBJECTIVES), max_trials=trials, reference_points=targets,
                         population_size=population, neighbourhood_size=neighbours, theta=theta,
                         seed=seed + 1, max_consecutive_failed_trials=max(5, trials // 2))
    hypermodel = MUXNetHyperModel(input_shape=(size, size, 3), classes=10, widths=WIDTHS,
                                  stem_filters=STEM, head_filters=HEAD, scales=SCALES)
    return ProgressTuner(oracle=oracle, hypermodel=hypermodel, directory=directory,
                         project_name=project_name or PROJECT, overwrite=overwrite)


def search(args):
    if args.trials < 1 or args.epochs < 1 or args.size < 8:
        raise ValueError("--trials and --epochs must be positive and --size at least 8")
    targets = [parse_target(t) for t in args.target] if args.target else None
    if args.report_only:
        if args.overwrite:
            raise ValueError("--report-only reads the saved search; it cannot go with --overwrite")
        if not os.path.exists(os.path.join(args.out, "tuner", PROJECT, "oracle.json")):
            raise ValueError(f"no saved search in {args.out} to report on")
    os.makedirs(args.out, exist_ok=True)
    tuner = make_tuner(os.path.join(args.out, "tuner"), args.trials, args.population, args.neighbours,
                       args.theta, targets, args.size, args.seed, args.overwrite)
    if args.report_only:
        return _report(tuner, args.out, targets)
    from keras_muxnet.training.digits import load_digits

    (x, y), validation = load_digits(size=args.size, seed=args.seed)
    print(f"searching {args.trials} MUXNet candidates on scikit-learn digits "
          f"({len(x)} train / {len(validation[0])} validation images at {args.size}x{args.size}), "
          f"{args.epochs} epochs each; targets: {targets or 'none (uniform directions)'}")
    start = time.perf_counter()
    tuner.search(x, y, validation_data=validation, epochs=args.epochs, batch_size=64, verbose=0)
    print(f"search finished in {time.perf_counter() - start:.0f} s")
    return _report(tuner, args.out, targets)


def _report(tuner, out, targets):
    rows = write_results(tuner, out, targets)
    pareto = [r for r in rows if r["pareto_rank"] is not None]
    print(f"{len(rows)} trials, {len(pareto)} on the Pareto front:")
    for row in sorted(pareto, key=lambda r: r["pareto_rank"]):
        print(f"  #{row['pareto_rank']} trial {row['trial_id']}: accuracy {row['val_accuracy']:.3f}, "
              f"{row['params']:,} params, {row['madds']:,} MAdds")
    print(f"wrote {os.path.join(out, 'trials.csv')}, trials.json and pareto.png")
    return 0


def write_results(tuner, out, targets):
    """DIR/trials.csv, DIR/trials.json (with each candidate's spec) and DIR/pareto.png."""
    from keras_muxnet.search.space import candidate_spec

    oracle = tuner.oracle
    best = oracle.get_best_trials(len(oracle.trials))
    rank = {t.trial_id: i + 1 for i, t in enumerate(best)}
    rows = []
    for trial_id in oracle.start_order:
        trial = oracle.trials[trial_id]
        row = {"trial_id": trial_id, "status": trial.status, "pareto_rank": rank.get(trial_id)}
        for name in ("val_accuracy", "params", "madds"):
            value = trial.metrics.get_best_value(name) if trial.metrics.exists(name) else None
            row[name] = None if value is None else (value if name == "val_accuracy" else int(value))
        spec = candidate_spec(trial.hyperparameters.values, WIDTHS, STEM, HEAD,
                              name=f"muxnet_digits_{trial_id}")
        row["blocks"] = " | ".join(" ".join(stage) for stage in spec.stages)
        row["spec"] = spec.describe()
        row["hyperparameters"] = trial.hyperparameters.values
        rows.append(row)
    columns = ["trial_id", "status", "pareto_rank", "val_accuracy", "params", "madds", "blocks"]
    with atomic_output(os.path.join(out, "trials.csv")) as tmp, open(tmp, "w", newline="") as stream:
        _csv(stream, rows, columns)
    write_json(os.path.join(out, "trials.json"), {"targets": targets, "trials": rows}, indent=1)
    plot_front(rows, targets, os.path.join(out, "pareto.png"))
    return rows


def _csv(stream, rows, columns):
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def plot_front(rows, targets, path):
    """Accuracy vs params, accuracy vs MAdds, params vs MAdds; Pareto trials and targets marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["status"] == "COMPLETED"]
    front = [r for r in done if r["pareto_rank"] is not None]
    pairs = [("params", "val_accuracy"), ("madds", "val_accuracy"), ("params", "madds")]
    labels = {"params": "parameters", "madds": "multiply-adds", "val_accuracy": "validation accuracy"}
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, (x_key, y_key) in zip(axes, pairs):
        axis.scatter([r[x_key] for r in done], [r[y_key] for r in done], c="lightgray",
                     edgecolors="gray", label="candidates")
        axis.scatter([r[x_key] for r in front], [r[y_key] for r in front], c="tab:blue",
                     label="Pareto front")
        for r in front:
            axis.annotate(r["trial_id"], (r[x_key], r[y_key]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        if targets:
            axis.scatter([t[x_key] for t in targets], [t[y_key] for t in targets], marker="*", s=200,
                         c="tab:red", label="reference targets")
        axis.set_xlabel(labels[x_key])
        axis.set_ylabel(labels[y_key])
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    figure.suptitle(f"MUXNet search on digits: {len(done)} candidates, {len(front)} non-dominated")
    figure.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
