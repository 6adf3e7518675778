"""`keras-muxnet search`: tri-objective MUXNet search (accuracy, params, MAdds) with MOEADOracle.

`keras-muxnet search [run]` trains each candidate briefly on scikit-learn's digits (no download)
and writes DIR/trials.csv, DIR/trials.json and DIR/pareto.png; `keras-muxnet search benchmark`
compares our MOEA/D core with pymoo's on DTLZ1/DTLZ2/ZDT1 and writes DIR/front.csv;
`keras-muxnet search latency-check --json OUT` checks the latency table's predictions against
measured whole networks of the search space and MUXNet-xs/s/m/l.
"""

import csv
import os
import time

from keras_muxnet._files import atomic_output, write_json
from keras_muxnet.cli import _options

WIDTHS, STEM, HEAD = (16, 24, 32, 48), 16, 128  # a MUXNet small enough for digits on 2 cores
# Spatial multiplexing (-1, 0) or none (0); both depthwise: the plain grouped kxk convolution
# ("none" in the full space) trains ~50x slower on CPU in TensorFlow (grouped conv gradients).
SCALES = ("0", "-1.0")
PROJECT = "muxnet_digits"
LATENCY_QUANTIZE = (None, "int8")
REPORTED = ("val_accuracy", "params", "madds", "latency_ms")  # trials.csv columns (when measured)
DEFAULT_OBJECTIVES = "val_accuracy,params,madds"


def hypermodel(size, latency_table=None, objectives=DEFAULT_OBJECTIVES):
    """The search space of `keras-muxnet search` (digits, 10 classes) at size x size."""
    from keras_muxnet.search.space import MUXNetHyperModel

    return MUXNetHyperModel(input_shape=(size, size, 3), classes=10, widths=WIDTHS,
                            stem_filters=STEM, head_filters=HEAD, scales=SCALES,
                            latency_table=latency_table, objectives=objectives.split(","))


def register(subparsers):
    parser = subparsers.add_parser("search", help="multi-objective MUXNet search (or its benchmark)",
                                   description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=("run", "benchmark", "latency-check"))
    parser.add_argument("--out", default="search_out", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    run = parser.add_argument_group("search (run)")
    run.add_argument("--trials", type=int, default=12, help="candidates to train (default 12)")
    run.add_argument("--population", type=int, default=6, help="MOEA/D population (default 6)")
    run.add_argument("--neighbours", type=int, default=3, help="neighbourhood size (default 3)")
    run.add_argument("--theta", type=float, default=5.0, help="PBI penalty (default 5)")
    run.add_argument("--epochs", type=int, default=2, help="training epochs per candidate (default 2)")
    run.add_argument("--size", type=int, default=32, help="image side the digits are resized to "
                     "(and the networks' input size in latency-check)")
    run.add_argument("--objectives", default=DEFAULT_OBJECTIVES,
                     help="comma list of what to optimize: val_accuracy, params, madds, latency_ms "
                          f"(default {DEFAULT_OBJECTIVES}); latency_ms is the latency table's prediction")
    run.add_argument("--target", action="append", default=None, metavar="ACC,PARAMS,MADDS",
                     help="reference target (repeatable), one value per objective in their order, "
                          "e.g. 1.0,60000,2e6")
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
    latency = parser.add_argument_group("latency table (run with latency_ms, latency-check)")
    latency.add_argument("--latency-table", default=None, metavar="PATH",
                         help="the per-block latency table, built lazily on this machine "
                              "(default: OUT/latency_table_<quantize>.json)")
    _options.add_quantize(latency, modes=LATENCY_QUANTIZE,
                          help="time float32 (none, default) or int8 TFLite networks")
    latency.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    latency.add_argument("--json", default=None, metavar="OUT", help="latency-check: the report")
    latency.add_argument("--archs", type=int, default=20,
                         help="latency-check: random architectures besides MUXNet-xs/s/m/l (default 20)")
    parser.set_defaults(func=main)


def main(args):
    actions = {"benchmark": benchmark, "latency-check": latency_check}
    return actions.get(args.action, search)(args)


# --- latency-check -----------------------------------------------------------------------------
def latency_table(args):
    """The latency table the options name: built lazily on this machine, or one measured on a
    device (`search.device_table`), used offline under its own conditions."""
    from keras_muxnet.search.latency_table import LatencyTable, read_signature

    quantize = _options.quantize(args)
    path = args.latency_table or os.path.join(args.out, f"latency_table_{quantize or 'fp32'}.json")
    if not args.latency_table:
        os.makedirs(args.out, exist_ok=True)
    elif os.path.exists(path) and read_signature(path).get("architecture") == "device":
        table = LatencyTable.recorded(path)
        if (table.quantize, table.signature["threads"]) != (quantize, args.threads):
            raise ValueError(f"the device table {path} holds {table.quantize or 'float32'} figures "
                             f"with {table.signature['threads']} thread(s); give --quantize "
                             f"{table.quantize or 'none'} --threads {table.signature['threads']}")
        return table
    return LatencyTable(path, threads=args.threads, quantize=quantize)


def latency_check(args):
    from keras_muxnet.latency import machine
    from keras_muxnet.search import latency_check as checking

    if not args.json:
        raise ValueError("latency-check writes its report to --json OUT; give the file name")
    if args.archs < 2 or args.size < 8:
        raise ValueError(f"--archs must be at least 2 and --size at least 8, got {args.archs}, {args.size}")
    table = latency_table(args)
    print(f"latency check on {machine()}: {args.archs} random architectures of the search space "
          f"and {', '.join(checking.VARIANTS)} at {args.size}x{args.size}, "
          f"{_options.quantize(args) or 'float32'}, {args.threads} thread(s); table {table.path} "
          f"({len(table.entries)} entries)")
    report = checking.check(table, hypermodel(args.size), archs=args.archs, seed=args.seed)
    write_json(args.json, report, indent=1)
    print(f"Spearman {report['spearman']:.3f}, median |relative error| "
          f"{report['median_abs_rel_error']:.1%} (mean signed {report['mean_rel_error']:+.1%}) over "
          f"{report['n_architectures']} architectures; the table's parts run "
          f"{report['parts_now_vs_table']:.2f}x their table time now (at that speed: median "
          f"|relative error| {report['median_abs_rel_error_at_current_speed']:.1%}); load average before/after "
          f"{report['load_average_before'][0]:.2f}/{report['load_average_after'][0]:.2f}; "
          f"{report['seconds']:.0f} s -> {args.json}")
    return 0


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
def parse_target(text, names=("val_accuracy", "params", "madds")):
    """'ACC,PARAMS,MADDS' (one value per objective name) -> {name: value}."""
    parts = text.split(",")
    spelled = ",".join(n.upper() for n in names)
    if len(parts) != len(names):
        raise ValueError(f"a reference target has {len(names)} values {spelled}, got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"reference target {text!r} is not {len(names)} numbers ({spelled})") from None
    return dict(zip(names, values))


def _format_metric(name, value):
    if name == "val_accuracy":
        return f"accuracy {value:.3f}"
    if name == "latency_ms":
        return f"{value:.3f} ms"
    return f"{int(value):,} {'MAdds' if name == 'madds' else name}"


def make_tuner(directory, trials, population, neighbours, theta, targets, size, seed, overwrite,
               project_name=None, objectives=DEFAULT_OBJECTIVES, latency_table=None):
    """A Keras-Tuner Tuner over the MUXNet space (small widths for digits) with MOEADOracle."""
    import keras_tuner

    from keras_muxnet.search.oracle import MOEADOracle

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
                shown = [n for n in REPORTED if m.exists(n)]
                print(f"trial {done}/{trials}: "
                      + ", ".join(_format_metric(n, m.get_best_value(n)) for n in shown), flush=True)
            else:
                errors = [line for line in (stored.message or "").splitlines() if "Error: " in line]
                print(f"trial {done}/{trials}: {stored.status} "
                      f"({errors[-1].strip() if errors else 'no message'})", flush=True)

    space = hypermodel(size, latency_table, objectives)
    oracle = MOEADOracle(space.objectives, max_trials=trials, reference_points=targets,
                         population_size=population, neighbourhood_size=neighbours, theta=theta,
                         seed=seed + 1, max_consecutive_failed_trials=max(5, trials // 2))
    return ProgressTuner(oracle=oracle, hypermodel=space, directory=directory,
                         project_name=project_name or PROJECT, overwrite=overwrite)


def search(args):
    from keras_muxnet.search.space import named_objectives

    if args.trials < 1 or args.epochs < 1 or args.size < 8:
        raise ValueError("--trials and --epochs must be positive and --size at least 8")
    names = [o.name for o in named_objectives(args.objectives)]
    targets = [parse_target(t, names) for t in args.target] if args.target else None
    if args.report_only:
        if args.overwrite:
            raise ValueError("--report-only reads the saved search; it cannot go with --overwrite")
        if not os.path.exists(os.path.join(args.out, "tuner", PROJECT, "oracle.json")):
            raise ValueError(f"no saved search in {args.out} to report on")
    os.makedirs(args.out, exist_ok=True)
    table = latency_table(args) if "latency_ms" in names else None
    tuner = make_tuner(os.path.join(args.out, "tuner"), args.trials, args.population, args.neighbours,
                       args.theta, targets, args.size, args.seed, args.overwrite,
                       objectives=",".join(names), latency_table=table)
    if args.report_only:
        return _report(tuner, args.out, targets)
    from keras_muxnet.training.digits import load_digits

    (x, y), validation = load_digits(size=args.size, seed=args.seed)
    print(f"searching {args.trials} MUXNet candidates on scikit-learn digits "
          f"({len(x)} train / {len(validation[0])} validation images at {args.size}x{args.size}), "
          f"{args.epochs} epochs each; objectives {', '.join(names)}; "
          f"targets: {targets or 'none (uniform directions)'}")
    start = time.perf_counter()
    tuner.search(x, y, validation_data=validation, epochs=args.epochs, batch_size=64, verbose=0)
    print(f"search finished in {time.perf_counter() - start:.0f} s")
    return _report(tuner, args.out, targets)


def _report(tuner, out, targets):
    rows = write_results(tuner, out, targets)
    pareto = [r for r in rows if r["pareto_rank"] is not None]
    print(f"{len(rows)} trials, {len(pareto)} on the Pareto front:")
    for row in sorted(pareto, key=lambda r: r["pareto_rank"]):
        print(f"  #{row['pareto_rank']} trial {row['trial_id']}: " + ", ".join(
            _format_metric(n, row[n]) for n in REPORTED if row.get(n) is not None))
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
        for name in REPORTED:
            value = trial.metrics.get_best_value(name) if trial.metrics.exists(name) else None
            row[name] = None if value is None else (int(value) if name in ("params", "madds") else value)
        spec = candidate_spec(trial.hyperparameters.values, WIDTHS, STEM, HEAD,
                              name=f"muxnet_digits_{trial_id}")
        row["blocks"] = " | ".join(" ".join(stage) for stage in spec.stages)
        row["spec"] = spec.describe()
        row["hyperparameters"] = trial.hyperparameters.values
        rows.append(row)
    columns = ["trial_id", "status", "pareto_rank", *REPORTED, "blocks"]
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
    """Accuracy vs each cost (latency when measured, params, MAdds; params vs MAdds to fill three
    panels); Pareto trials and targets marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["status"] == "COMPLETED"]
    front = [r for r in done if r["pareto_rank"] is not None]
    costs = [n for n in ("latency_ms", "params", "madds") if any(r.get(n) is not None for r in done)]
    pairs = ([(cost, "val_accuracy") for cost in costs] + [("params", "madds")])[:3]
    labels = {"params": "parameters", "madds": "multiply-adds", "val_accuracy": "validation accuracy",
              "latency_ms": "predicted TFLite latency (ms)"}
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, (x_key, y_key) in zip(axes, pairs):
        axis.scatter([r[x_key] for r in done], [r[y_key] for r in done], c="lightgray",
                     edgecolors="gray", label="candidates")
        axis.scatter([r[x_key] for r in front], [r[y_key] for r in front], c="tab:blue",
                     label="Pareto front")
        for r in front:
            axis.annotate(r["trial_id"], (r[x_key], r[y_key]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        if targets and all(x_key in t and y_key in t for t in targets):
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
