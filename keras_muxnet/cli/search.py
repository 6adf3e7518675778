"""`keras-muxnet search`: hardware-aware MUXNet search (accuracy, TFLite latency, ...) with MOEADOracle.

`keras-muxnet search [run]` scores each candidate by the seeded short evaluation
(`search.evaluation`) on scikit-learn's digits (no download), with latency_ms from the per-part
latency table (or `--latency exact`), beside a ladder of MobileNetV3 peers trained and timed the
same way; it writes DIR/trials.csv, DIR/peers.csv, DIR/trials.json and DIR/pareto.png and says
how many peers a searched MUXNet dominates. `keras-muxnet search eval-check --json OUT` measures
how stable the short evaluation is (Kendall's tau of two seeds); `keras-muxnet search benchmark`
compares our MOEA/D core with pymoo's on DTLZ1/DTLZ2/ZDT1 and writes DIR/front.csv;
`keras-muxnet search latency-check --json OUT` checks the latency table's predictions against
measured whole networks of the search space and MUXNet-xs/s/m/l.
"""

import csv
import dataclasses
import json
import os
import time

from keras_muxnet._files import atomic_output, write_json
from keras_muxnet.cli import _options

WIDTHS, STEM, HEAD = (16, 24, 32, 48), 16, 128  # a MUXNet small enough for digits on 2 cores
# Spatial multiplexing (-1, 0) or a depthwise kxk ("0"); the mux blocks' 2-channel groups
# ("none" in the full space) train ~50x slower on CPU in TensorFlow (grouped conv gradients).
SCALES = ("0", "-1.0")
# The choices that trade accuracy for latency, per stage: kernels capped at 5x5, stages
# without normal blocks, ReLU / hard-swish / swish, SE on or off.
KERNELS, NORMAL_BLOCKS, SQUEEZE_EXCITE = (3, 5), (0, 1, 2), (True, False)
VALIDATION_FRACTION = 0.3  # 540 held-out digits: one image is 0.19 accuracy points
# Candidates trained on shifted/scaled/rotated copies of the digits and scored on 8 copies of the
# held-out ones (4,320 images): Kendall's tau of two seeds 0.64 instead of 0.07 (search_hardware.md).
TRAIN_COPIES, HELD_OUT_COPIES = 3, 8
PROJECT = "muxnet_digits"
LATENCY_QUANTIZE = (None, "int8")
REPORTED = ("val_accuracy", "params", "madds", "latency_ms")  # trials.csv columns (when measured)
DEFAULT_OBJECTIVES = "val_accuracy,latency_ms"


def hypermodel(size, latency_table=None, objectives="val_accuracy,params,madds", evaluation=None, seed=0):
    """The search space of `keras-muxnet search` (digits, 10 classes) at size x size (objectives
    that need no latency table unless given)."""
    # Each stage 0.25x-1.5x of WIDTHS wide (search.space.WIDTH_MULTIPLIERS): narrow stages are
    # what lets a searched network beat the MobileNetV3 ladder's latency by a wide margin.
    from keras_muxnet.search.space import ACTIVATIONS, WIDTH_MULTIPLIERS, MUXNetHyperModel

    return MUXNetHyperModel(input_shape=(size, size, 3), classes=10, widths=WIDTHS,
                            stem_filters=STEM, head_filters=HEAD, kernels=KERNELS,
                            normal_blocks=NORMAL_BLOCKS, scales=SCALES, activations=ACTIVATIONS,
                            squeeze_excite=SQUEEZE_EXCITE, width_multipliers=WIDTH_MULTIPLIERS,
                            evaluation=evaluation, seed=seed,
                            latency_table=latency_table, objectives=objectives.split(","))


def short_evaluation(args):
    """The `search.evaluation.ShortEvaluation` the options name: by default trained on 3 copies
    of the training digits (the first plain, two shifted/scaled/rotated by `digit_variants`) and
    scored on 8 copies of the held-out digits (4,320 images), which ranks candidates far more
    stably across seeds than the plain 540 (docs/search_hardware.md)."""
    from keras_muxnet.search.digit_variants import Variants
    from keras_muxnet.search.evaluation import ShortEvaluation

    for name in ("train_copies", "held_out_copies"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1 (1: the images as they are), "
                             f"got {getattr(args, name)}")
    return ShortEvaluation(
        epochs=args.epochs,
        train_variants=Variants(copies=args.train_copies) if args.train_copies > 1 else None,
        held_out_variants=Variants(copies=args.held_out_copies) if args.held_out_copies > 1 else None)


def digits(size, seed=0):
    """scikit-learn's digits at size x size with the search's held-out split."""
    from keras_muxnet.training.digits import load_digits

    return load_digits(size=size, validation_fraction=VALIDATION_FRACTION, seed=seed)


def register(subparsers):
    parser = subparsers.add_parser("search", help="multi-objective MUXNet search (or its benchmark)",
                                   description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run",
                        choices=("run", "benchmark", "latency-check", "eval-check"))
    parser.add_argument("--out", default="search_out", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    run = parser.add_argument_group("search (run)")
    run.add_argument("--trials", type=int, default=8, help="candidates to train (default 8)")
    run.add_argument("--population", type=int, default=4, help="MOEA/D population (default 4)")
    run.add_argument("--neighbours", type=int, default=2, help="neighbourhood size (default 2)")
    run.add_argument("--theta", type=float, default=5.0, help="PBI penalty (default 5)")
    run.add_argument("--epochs", type=int, default=3, help="training epochs per candidate (default 3)")
    run.add_argument("--train-copies", type=int, default=TRAIN_COPIES,
                     help="copies of the training digits trained on, the first plain, the others "
                          f"shifted/scaled/rotated (default {TRAIN_COPIES}; 1: plain digits only)")
    run.add_argument("--held-out-copies", type=int, default=HELD_OUT_COPIES,
                     help="copies of the held-out digits scored, made the same way "
                          f"(default {HELD_OUT_COPIES}; 1: the plain held-out digits only)")
    run.add_argument("--size", type=int, default=32, help="image side the digits are resized to "
                     "(and the networks' input size in latency-check)")
    run.add_argument("--objectives", default=DEFAULT_OBJECTIVES,
                     help="comma list of what to optimize: val_accuracy, params, madds, latency_ms "
                          f"(default {DEFAULT_OBJECTIVES}); latency_ms is the latency table's prediction")
    run.add_argument("--target", action="append", default=None, metavar="ACC,PARAMS,MADDS",
                     help="reference target (repeatable), one value per objective in their order, "
                          "e.g. 1.0,60000,2e6")
    run.add_argument("--peers", default=None,
                     help="MobileNetV3 peers drawn on the front, trained and timed the same way "
                          "(comma list, 'none' for none; default MobileNetV3Small:0.75, "
                          "MobileNetV3Small, MobileNetV3Large:0.75, MobileNetV3Large)")
    run.add_argument("--target-like", default=None, metavar="PEER",
                     help="use a peer's measured accuracy/latency/params/MAdds as a reference target, "
                          "e.g. MobileNetV3Large or MobileNetV3Small:0.75")
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
    latency.add_argument("--latency", choices=("table", "exact"), default="table",
                         help="run: latency_ms from the per-part table (default) or exact: each "
                              "candidate exported and timed whole (slower, no model error)")
    latency.add_argument("--json", default=None, metavar="OUT", help="latency-check, eval-check: the report")
    latency.add_argument("--candidates", type=int, default=10,
                         help="eval-check: random candidates, each evaluated with two seeds (default 10)")
    latency.add_argument("--archs", type=int, default=20,
                         help="latency-check: random architectures besides MUXNet-xs/s/m/l (default 20)")
    parser.set_defaults(func=main)


def main(args):
    actions = {"benchmark": benchmark, "latency-check": latency_check, "eval-check": eval_check}
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


def latency_objective(args):
    """What `latency_ms` reports: the lazily built table, or with --latency exact each
    candidate exported and timed whole (`search.exact_latency`)."""
    if args.latency == "exact":
        from keras_muxnet.search.exact_latency import ExactLatency

        if args.latency_table:
            raise ValueError("--latency exact times each candidate whole; it takes no --latency-table")
        return ExactLatency(threads=args.threads, quantize=_options.quantize(args))
    return latency_table(args)


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


# --- eval-check --------------------------------------------------------------------------------
def random_candidates(size, seed, count):
    """(build, [(name, spec), ...]): `count` buildable random architectures of the search's
    space at `size` (drawn by `seed`), and the builder that makes each a 10-class classifier
    without dropout, as the short evaluation trains them."""
    from keras_muxnet.models import MUXNet
    from keras_muxnet.search.latency_check import buildable, random_specs

    space = hypermodel(size)

    def build(spec):
        return MUXNet(spec, weights=None, input_shape=space.input_shape, classes=10, dropout_rate=0.0,
                      drop_connect_rate=0.0)

    return build, [(name, spec) for name, spec, _ in buildable(random_specs(space, seed), count, build)]


def eval_check(args):
    """Random candidates of the search space, each scored with seeds SEED and SEED+1."""
    from keras_muxnet.search import evaluation

    if not args.json:
        raise ValueError("eval-check writes its report to --json OUT; give the path")
    if args.candidates < 3 or args.epochs < 1:
        raise ValueError(f"--candidates must be at least 3 (Kendall's tau) and --epochs positive, "
                         f"got {args.candidates} and {args.epochs}")
    recipe = short_evaluation(args)
    build, candidates = random_candidates(args.size, args.seed, args.candidates)
    data = digits(args.size)
    print(f"evaluating {len(candidates)} random candidates twice (seeds {args.seed}, {args.seed + 1}) "
          f"on digits ({len(data[0][0])} train / {len(data[1][0])} held out at {args.size}x{args.size}), "
          f"{recipe}; load average {os.getloadavg()[0]:.2f}")
    report = evaluation.stability(build, candidates, data, recipe, seeds=(args.seed, args.seed + 1))
    write_json(args.json, report, indent=1)
    print(f"Kendall's tau {report['kendall_tau']:.3f}, median |difference| "
          f"{report['median_abs_diff']:.2f} accuracy points (largest {report['max_abs_diff']:.2f}; "
          f"accuracies span {report['accuracy_range_points']:.1f} points) over {report['n_candidates']} "
          f"candidates; {report['median_seconds_per_evaluation']:.0f} s per evaluation; load average "
          f"before/after {report['load_average_before'][0]:.2f}/{report['load_average_after'][0]:.2f}; "
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


def progress_bar(done, total, start, width=20):
    """'[#####---------------]  5/20  1:02 elapsed, ~3:06 left' (a line per step, log-friendly)."""
    elapsed = time.perf_counter() - start
    filled = int(round(width * done / max(total, 1)))
    left = elapsed / done * (total - done) if done else None

    def clock(seconds):
        return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"

    return (f"[{'#' * filled}{'-' * (width - filled)}] {done:>{len(str(total))}}/{total}  "
            f"{clock(elapsed)} elapsed" + (f", ~{clock(left)} left" if left is not None else ""))


def make_tuner(directory, trials, population, neighbours, theta, targets, size, seed, overwrite,
               project_name=None, objectives=DEFAULT_OBJECTIVES, latency_table=None, evaluation=None):
    """A Keras-Tuner Tuner over the MUXNet space (small widths for digits) with MOEADOracle."""
    import keras_tuner

    from keras_muxnet.search.oracle import MOEADOracle

    class ProgressTuner(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            # Build and fit directly: Keras-Tuner's default run_trial imports tensorboard
            # (for its TensorBoard hook) even when no TensorBoard callback is used.
            hp = trial.hyperparameters
            return self.hypermodel.fit(hp, self.hypermodel.build(hp), *args, **kwargs)

        started = time.perf_counter()

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            stored = self.oracle.get_trial(trial.trial_id)
            done = sum(t.status in ("COMPLETED", "FAILED") for t in self.oracle.trials.values())
            print(progress_bar(done, trials, self.started), end="  ")
            if stored.status == "COMPLETED":
                m = stored.metrics
                shown = [n for n in REPORTED if m.exists(n)]
                print(f"trial {done}/{trials}: "
                      + ", ".join(_format_metric(n, m.get_best_value(n)) for n in shown), flush=True)
            else:
                errors = [line for line in (stored.message or "").splitlines() if "Error: " in line]
                print(f"trial {done}/{trials}: {stored.status} "
                      f"({errors[-1].strip() if errors else 'no message'})", flush=True)

    space = hypermodel(size, latency_table, objectives, evaluation=evaluation, seed=seed)
    oracle = MOEADOracle(space.objectives, max_trials=trials, reference_points=targets,
                         population_size=population, neighbourhood_size=neighbours, theta=theta,
                         seed=seed + 1, max_consecutive_failed_trials=max(5, trials // 2))
    return ProgressTuner(oracle=oracle, hypermodel=space, directory=directory,
                         project_name=project_name or PROJECT, overwrite=overwrite)


def search(args):
    from keras_muxnet.search import mobilenet_ladder as ladder
    from keras_muxnet.search.space import named_objectives

    if args.trials < 1 or args.epochs < 1 or args.size < 8:
        raise ValueError("--trials and --epochs must be positive and --size at least 8")
    recipe = short_evaluation(args)  # checks its options before any work
    names = [o.name for o in named_objectives(args.objectives)]
    targets = [parse_target(t, names) for t in args.target] if args.target else []
    peers = () if (args.peers or "").strip().lower() == "none" else ladder.parse_ladder(args.peers or ladder.LADDER)
    target_like = ladder.parse_peer(args.target_like) if args.target_like else None
    if target_like is not None and target_like not in peers:
        peers += (target_like,)
    if peers and args.size < ladder.MIN_SIZE:
        raise ValueError(f"the MobileNetV3 peers need --size {ladder.MIN_SIZE} or more (got {args.size}); "
                         f"use a larger size or --peers none")
    if args.report_only:
        if args.overwrite:
            raise ValueError("--report-only reads the saved search; it cannot go with --overwrite")
        if not os.path.exists(os.path.join(args.out, "tuner", PROJECT, "oracle.json")):
            raise ValueError(f"no saved search in {args.out} to report on")
    os.makedirs(args.out, exist_ok=True)
    table = None
    if "latency_ms" in names or peers:
        table = latency_objective(args)
        if peers and getattr(table, "offline", False):
            raise ValueError(f"the latency table {table.path} is another device's (offline), but the "
                             f"MobileNetV3 peers are timed here: give --peers none with a device table")
    start = time.perf_counter()
    data = None if args.report_only else digits(args.size, seed=args.seed)
    peer_rows = {}
    if peers:
        peer_rows = measured_peers(peers, data, recipe, args, table)
        if target_like is not None:
            targets.append({n: peer_rows[target_like.name][n] for n in names})
            print(f"target like {target_like.name}: " + ", ".join(
                _format_metric(n, v) for n, v in targets[-1].items()))
    tuner = make_tuner(os.path.join(args.out, "tuner"), args.trials, args.population, args.neighbours,
                       args.theta, targets or None, args.size, args.seed, args.overwrite,
                       objectives=",".join(names), latency_table=table
                       if "latency_ms" in names else None, evaluation=recipe)
    if not args.report_only:
        (x, y), validation = data
        print(f"searching {args.trials} MUXNet candidates on scikit-learn digits "
              f"({len(x)} train / {len(validation[0])} held out at {args.size}x{args.size}), {recipe}; "
              f"objectives {', '.join(names)}; targets: {targets or 'none (uniform directions)'}; "
              f"load average {os.getloadavg()[0]:.2f}")
        tuner.search(x, y, validation_data=validation, verbose=0)
        print(f"search finished in {time.perf_counter() - start:.0f} s (with the peers)")
    return _report(tuner, args, targets or None, peer_rows, table, start)


def measured_peers(peers, data, recipe, args, table):
    """{name: row} of the MobileNetV3 peers: trained by the same short evaluation, timed whole
    through the same converter and LiteRT settings as the table; saved in OUT/peers.json and
    reused while the recipe, size and seed are the same."""
    from keras_muxnet.search import mobilenet_ladder as ladder

    path = os.path.join(args.out, "peers.json")
    key = {"size": args.size, "seed": args.seed, "recipe": str(recipe), "signature": table.signature}
    saved = {}
    if os.path.exists(path):
        with open(path) as stream:
            stored = json.load(stream)
        if stored.get("key") == key:
            saved = stored["peers"]
    todo = [p for p in peers if p.name not in saved]
    if todo and data is None:
        raise ValueError(f"no saved results for peer(s) {[p.name for p in todo]} in {path} to report on")
    if todo:
        start = time.perf_counter()
        print(f"training the MobileNetV3 peers {', '.join(p.name for p in todo)} with the same short "
              f"evaluation; load average {os.getloadavg()[0]:.2f}")

        def log(done, total, name, row):
            print(progress_bar(done, total, start) + f"  peer {name}: accuracy {row['val_accuracy']:.3f}, "
                  f"{row['params']:,} params, {row['madds']:,} MAdds ({row['seconds']:.0f} s)", flush=True)

        rows = ladder.evaluate(todo, data, recipe, (args.size, args.size, 3), 10, seed=args.seed, log=log)
        times, conditions = ladder.time_exactly(
            {p.name: lambda p=p: p.build((args.size, args.size, 3), 10) for p in todo},
            table.quantize, table.signature["threads"])
        for name, row in rows.items():
            row["latency_ms"] = times[name]
            row["timing"] = conditions
        saved.update(rows)
        write_json(path, {"key": key, "peers": saved}, indent=1)
    return {p.name: saved[p.name] for p in peers}


def time_front(tuner, rows, peer_rows, table, size):
    """Time the front's MUXNets whole, interleaved with the peers (the same converter, LiteRT,
    thread count and rounds): `latency_ms_measured` of the front rows and the peers' `latency_ms`
    (measured again beside them, so a change of the machine's speed hits both alike)."""
    from keras_muxnet.models import MUXNet
    from keras_muxnet.search import mobilenet_ladder as ladder

    front = [r for r in rows if r["pareto_rank"] is not None and r["status"] == "COMPLETED"]
    builders = {}
    for row in front:
        spec = tuner.hypermodel.spec(tuner.oracle.trials[row["trial_id"]].hyperparameters)
        builders[f"trial {row['trial_id']}"] = lambda spec=spec: MUXNet(
            spec, weights=None, input_shape=(size, size, 3), classes=10)
    for name, peer in peer_rows.items():
        builders[name] = lambda name=name: ladder.parse_peer(name).build((size, size, 3), 10)
    print(f"timing the {len(front)} front MUXNets and {len(peer_rows)} peers whole, interleaved "
          f"({table.quantize or 'float32'}, {table.signature['threads']} thread(s)); load average "
          f"{os.getloadavg()[0]:.2f}")
    times, conditions = ladder.time_exactly(builders, table.quantize, table.signature["threads"])
    for row in front:
        row["latency_ms_measured"] = times[f"trial {row['trial_id']}"]
    for name, row in peer_rows.items():
        row["latency_ms_alone"], row["latency_ms"], row["timing"] = row["latency_ms"], times[name], conditions
    return conditions


def _report(tuner, args, targets, peer_rows, table, start):
    from keras_muxnet.search import mobilenet_ladder as ladder

    out = args.out
    rows = trial_rows(tuner)
    if peer_rows:
        time_front(tuner, rows, peer_rows, table, args.size)
        front = [r for r in rows if r.get("latency_ms_measured") is not None]
        for peer in peer_rows.values():
            beating = ladder.dominated(peer, front, latency="latency_ms_measured")
            peer["dominated_by"] = " ".join(f"trial {r['trial_id']}" for r in beating) or None
    write_results(rows, out, targets, peer_rows)
    pareto = [r for r in rows if r["pareto_rank"] is not None]
    print(f"{len(rows)} trials, {len(pareto)} on the Pareto front:")
    for row in sorted(pareto, key=lambda r: r["pareto_rank"]):
        measured = row.get("latency_ms_measured")
        print(f"  #{row['pareto_rank']} trial {row['trial_id']}: " + ", ".join(
            _format_metric(n, row[n]) for n in REPORTED if row.get(n) is not None)
            + (f" (measured whole: {measured:.3f} ms)" if measured is not None else ""))
    if peer_rows:
        beaten = [p for p in peer_rows.values() if p["dominated_by"]]
        print(f"MobileNetV3 peers (measured whole beside the front): {len(beaten)} of {len(peer_rows)} "
              f"dominated by a searched MUXNet (accuracy >= and latency <= the peer's)")
        for name, p in peer_rows.items():
            print(f"  {name}: accuracy {p['val_accuracy']:.3f}, {p['latency_ms']:.3f} ms, "
                  f"{p['params']:,} params, {p['madds']:,} MAdds: "
                  + (f"dominated by {p['dominated_by']}" if p["dominated_by"] else "not dominated"))
    print(f"{time.perf_counter() - start:.0f} s in all; load average {os.getloadavg()[0]:.2f}; wrote "
          f"{os.path.join(out, 'trials.csv')}, " + ("peers.csv, " if peer_rows else "") + "trials.json and pareto.png")
    return 0


def trial_rows(tuner):
    """One row per trial: status, Pareto rank, the reported metrics and the candidate's blocks."""
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
        spec = dataclasses.replace(tuner.hypermodel.spec(trial.hyperparameters), name=f"muxnet_digits_{trial_id}")
        row["blocks"] = spec.blocks_line()
        row["spec"] = spec.describe()
        row["hyperparameters"] = trial.hyperparameters.values
        rows.append(row)
    return rows


PEER_COLUMNS = ("model", "val_accuracy", "latency_ms", "params", "madds", "latency_ms_alone", "dominated_by")


def write_results(rows, out, targets, peer_rows=None):
    """DIR/trials.csv, DIR/peers.csv, DIR/trials.json (with each candidate's spec) and DIR/pareto.png.
    (`rows` may also be a tuner, whose trials are then read.)"""
    if not isinstance(rows, list):
        rows = trial_rows(rows)
    peer_rows = peer_rows or {}
    columns = ["trial_id", "status", "pareto_rank", *REPORTED, "latency_ms_measured", "blocks"]
    with atomic_output(os.path.join(out, "trials.csv")) as tmp, open(tmp, "w", newline="") as stream:
        _csv(stream, rows, columns)
    if peer_rows:
        with atomic_output(os.path.join(out, "peers.csv")) as tmp, open(tmp, "w", newline="") as stream:
            _csv(stream, list(peer_rows.values()), PEER_COLUMNS)
    write_json(os.path.join(out, "trials.json"), {"targets": targets, "trials": rows,
                                                  "peers": peer_rows}, indent=1)
    plot_front(rows, targets, os.path.join(out, "pareto.png"), peer_rows)
    return rows


def _csv(stream, rows, columns):
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def plot_front(rows, targets, path, peer_rows=None):
    """Accuracy vs each cost (latency when measured, params, MAdds; params vs MAdds to fill three
    panels); Pareto trials, targets and the MobileNetV3 peers marked. On the latency panel the
    candidates sit at their predicted latency, the front and the peers at their measured one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    peers = list((peer_rows or {}).values())
    done = [r for r in rows if r["status"] == "COMPLETED"]
    front = [r for r in done if r["pareto_rank"] is not None]
    costs = [n for n in ("latency_ms", "params", "madds") if any(r.get(n) is not None for r in done + peers)]
    pairs = ([(cost, "val_accuracy") for cost in costs] + [("params", "madds")])[:3]
    labels = {"params": "parameters", "madds": "multiply-adds", "val_accuracy": "validation accuracy",
              "latency_ms": "TFLite latency (ms): candidates predicted, front and peers measured"}
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))

    def value(row, key):
        if key == "latency_ms" and row.get("latency_ms_measured") is not None:
            return row["latency_ms_measured"]
        return row.get(key)

    for axis, (x_key, y_key) in zip(axes, pairs):
        shown = [r for r in done if value(r, x_key) is not None]
        axis.scatter([value(r, x_key) for r in shown], [r[y_key] for r in shown], c="lightgray",
                     edgecolors="gray", label="candidates")
        shown = [r for r in front if value(r, x_key) is not None]
        axis.scatter([value(r, x_key) for r in shown], [r[y_key] for r in shown], c="tab:blue",
                     label="Pareto front (MUXNet)")
        for r in shown:
            axis.annotate(r["trial_id"], (value(r, x_key), r[y_key]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        if peers:
            axis.scatter([p[x_key] for p in peers], [p[y_key] for p in peers], marker="^", s=70,
                         c="tab:orange", edgecolors="black", label="MobileNetV3 peers")
            for p in peers:
                axis.annotate(p["model"].replace("MobileNetV3", "V3"), (p[x_key], p[y_key]), fontsize=7,
                              xytext=(3, -9), textcoords="offset points")
        if targets and all(x_key in t and y_key in t for t in targets):
            axis.scatter([t[x_key] for t in targets], [t[y_key] for t in targets], marker="*", s=200,
                         c="tab:red", label="reference targets")
        if x_key == "latency_ms":  # the peers sit up to 20x further right than the front
            axis.set_xscale("log")
            axis.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel(labels[x_key], fontsize=8 if x_key == "latency_ms" else 10)
        axis.set_ylabel(labels[y_key])
        axis.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize=8)
    figure.suptitle(f"MUXNet search on digits: {len(done)} candidates, {len(front)} non-dominated"
                    + (f"; {sum(bool(p.get('dominated_by')) for p in peers)} of {len(peers)} MobileNetV3 "
                       f"peers dominated" if peers else ""))
    figure.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
