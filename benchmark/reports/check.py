"""Regression checks (``bench check``): re-run every stored result's configuration and compare.

For each result file under the results folder (or the named subset), the configuration it records — model
spec and arguments, protocol, dataset, seed, device and batch size — is run again (results that share all but
the protocol are re-run together, one generation pass), and every score (overall and per stratum) is compared
with the stored one:

* **numeric** (``auto``'s choice for a re-run on the CPU): every value and both CI ends within the judge's measured
  cross-CPU drift for that kind of metric (rates: a stated number of flipped trials; FD and KID: a relative 5e-3,
  as FD's matrix square root amplifies rounding; everything else: a relative 1e-4 or the judge's own), and the
  counts exactly (``benchmark.reports.tolerance`` has the numbers and where they were measured).
* **exact**: equal to the last bit (``--tolerance exact``: only on the machine that stored the result).
* **within the CIs** (``auto``'s choice when ``--device`` names a GPU; ``--tolerance ci``): the new value must lie in
  the stored 95 % interval and the stored value in the new one (ends included), and the counts must be equal.

The tolerance is decided by the checking command (``--tolerance``, ``--device``) and the judge the re-run used,
never by a field of the file under check: a score edited together with ``environment``, ``judge.library``,
``device`` or ``git_commit`` fails as the edited score alone does (``benchmark.reports.tolerance``).

The judge is part of a result's identity: each result is re-scored with the judge it records (``judge.name``, a
``benchmark.judges`` registry name; results written before judges were plug-ins record only the id of
``dlib``, the default judge then: ``benchmark.judges.judge_name_of``) on the judge device it records, never with another. If the
re-run's judge is not the stored one (another ``judge.id``), nothing is compared: the result fails with
"different judge". ``--judge NAME`` checks only the results of that judge (the others are skipped and counted).

Always, whatever the tolerance: the trials sha256 must be unchanged (the protocol, its version, the dataset
manifest and the trial rule together), the dataset files' content fingerprint (``benchmark.data.fingerprint``) must
be unchanged where the stored result has one, the protocol version must still be the registered one, and the
set of metrics and strata must be the same. A result that cannot be re-run (missing model, data, CUDA, folder)
fails. A result scored on a dataset manifest is re-run on a manifest with the fingerprint it records, found where
the result says it was read or at ``--dataset PATH`` (``benchmark.reports.check_data``); a missing or changed manifest
is refused before anything runs.

Submission results (``bench score``) are re-scored from their folder with ``benchmark.engine.submission.score``, on every
protocol stored for the same folder and configuration even when only some are named: the folder holds the faces of
all of them, and ``bench score`` refuses a face that no protocol of the run uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from benchmark.errors import BenchError
from benchmark.results.io import read_result

TOLERANCES = ("auto", "numeric", "exact", "ci")
@dataclass
class Diff:
    """One compared number (or a structural problem) of one result file."""

    path: str
    protocol: str
    stratum: str
    metric: str
    stored: str
    ci: str
    new: str
    delta: str
    rule: str
    ok: bool
    note: str = ""


@dataclass
class CheckReport:
    """What ``check`` found: every compared entry, and per result file whether it passed."""

    rows: list[Diff] = field(default_factory=list)
    files: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(self.files.values())

    @property
    def failures(self) -> list[Diff]:
        return [r for r in self.rows if not r.ok]

    def table(self, only_failures: bool = True) -> str:
        """A tabulate diff table (failures only by default)."""
        from tabulate import tabulate

        rows = self.failures if only_failures else self.rows
        return tabulate([[r.path, r.protocol, r.stratum, r.metric, r.stored, r.ci, r.new, r.delta, r.rule,
                          "ok" if r.ok else "FAIL", r.note] for r in rows],
                        headers=["result", "protocol", "stratum", "metric", "stored", "stored 95% CI", "re-run",
                                 "Δ", "tolerance", "status", "note"])


def find_results(results_dir: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.json`` under ``results_dir`` (sorted; hidden files skipped).

    Raises:
        BenchError: the folder does not exist.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise BenchError(f"results folder {root} does not exist.")
    return sorted(p for p in root.rglob("*.json") if not any(part.startswith(".") for part in p.parts))


def select(paths: Sequence[Path], results: Sequence[dict], names: Sequence[str],
           judge: str | None = None) -> list[int]:
    """Indices of the results a ``bench check NAME... [--judge J]`` call means: a NAME matches a result when it
    equals its generator name or model spec, or is its file path or a folder above it (no names: all); with
    ``judge``, only results scored by that judge (``benchmark.judges.judge_name_of``)."""
    from benchmark.judges import judge_name_of

    out = []
    for i, (path, result) in enumerate(zip(paths, results)):
        if judge is not None and judge_name_of(result.get("judge", {})) != judge:
            continue
        if not names:
            out.append(i)
            continue
        gen = result.get("generator", {})
        for name in names:
            p = Path(name)
            if name in (gen.get("name"), gen.get("spec")) or (p.exists() and (
                    p.resolve() == path.resolve() or p.resolve() in path.resolve().parents)):
                out.append(i)
                break
    return out


def judge_device_of(stored: dict, device: str | None) -> str:
    """The device a stored result's judge re-runs on: the one it records ("cpu" for results that record none);
    ``device`` (``bench check --device``) moves a judge that ran elsewhere than the CPU, never a CPU judge (a
    result scored on the CPU is re-scored there: ``dlib``, dlib-bin, runs nowhere else)."""
    recorded = stored.get("judge", {}).get("device", "cpu")
    return device if device is not None and recorded != "cpu" else recorded


def _fmt(x: float) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def compare(path: str, stored: dict, new: dict, rule: str) -> list[Diff]:
    """Compare a stored result with its re-run; one ``Diff`` per (stratum, metric) plus structural checks.

    Args:
        path: the result's name in the report.
        stored, new: result dicts (``benchmark.results.io`` schema).
        rule: "numeric", "exact" or "ci" (module docstring).

    Raises:
        BenchError: an unknown rule.
    """
    from benchmark.judges import judge_name_of
    from benchmark.reports.tolerance import RULES, within

    if rule not in RULES:
        raise BenchError(f"unknown comparison rule {rule!r}")
    proto = stored["protocol"]["name"]
    rows: list[Diff] = []

    def problem(what: str, stored_v: str, new_v: str, note: str) -> None:
        rows.append(Diff(path, proto, "", what, stored_v, "", new_v, "", "equal", False, note))

    old_judge, new_judge = stored.get("judge", {}), new.get("judge", {})
    if old_judge.get("id") != new_judge.get("id"):  # scores of two judges are never compared
        problem("judge", str(old_judge.get("id")), str(new_judge.get("id")),
                "different judge: scores not compared (re-run it with the judge it records)")
        return rows
    for key, what in (("weights_sha256", "judge weights"), ("preprocess_version", "judge preprocessing")):
        if old_judge.get(key) != new_judge.get(key):
            problem(what, str(old_judge.get(key))[:16], str(new_judge.get(key))[:16],
                    f"the judge {old_judge.get('id')}'s {key} changed")

    if new["protocol"]["version"] != stored["protocol"]["version"]:
        problem("protocol version", str(stored["protocol"]["version"]), str(new["protocol"]["version"]),
                "the protocol changed version: re-run and store the result again")
    if new["trials"]["sha256"] != stored["trials"]["sha256"]:
        problem("trials sha256", stored["trials"]["sha256"][:16] + "…", new["trials"]["sha256"][:16] + "…",
                "the trials changed (protocol, dataset manifest or trial rule)")
    if new["dataset"]["manifest_sha256"] != stored["dataset"]["manifest_sha256"]:
        problem("dataset manifest", stored["dataset"]["manifest_sha256"][:16] + "…",
                new["dataset"]["manifest_sha256"][:16] + "…", "the dataset's identities, files or splits changed")
    old_files, new_files = stored["dataset"].get("files"), new["dataset"].get("files")
    if old_files and new_files and old_files["sha256"] != new_files["sha256"]:
        problem("dataset files", old_files["sha256"][:16] + "…", new_files["sha256"][:16] + "…",
                "a dataset file's bytes changed (an edited image or wav)")
    blocks = [("all", stored["scores"], new["scores"])]
    for stratum in sorted(set(stored.get("strata", {})) | set(new.get("strata", {}))):
        blocks.append((stratum, stored.get("strata", {}).get(stratum), new.get("strata", {}).get(stratum)))
    for stratum, old_scores, new_scores in blocks:
        old_scores, new_scores = old_scores or {}, new_scores or {}
        for metric in sorted(set(old_scores) | set(new_scores)):
            a, b = old_scores.get(metric), new_scores.get(metric)
            if a is None or b is None:
                rows.append(Diff(path, proto, stratum, metric, _fmt(a["value"]) if a else "—", "",
                                 _fmt(b["value"]) if b else "—", "", "equal", False,
                                 "metric/stratum only in the " + ("re-run" if a is None else "stored result")))
                continue
            lo, hi = a["ci95"]
            ok, label, note = within(metric, a, b, rule, judge_name_of(new_judge))  # the re-run's judge, same id
            rows.append(Diff(path, proto, stratum, metric, _fmt(a["value"]), f"[{_fmt(lo)}, {_fmt(hi)}]",
                             _fmt(b["value"]), f"{b['value'] - a['value']:+.3g}", label, ok, note))
            if "value_identity_weighted" in a or "value_identity_weighted" in b:  # the same rule, every speaker once
                rows.append(_identity_weighted_row(path, proto, stratum, metric, a, b, rule, judge_name_of(new_judge)))
    return rows


def _identity_weighted_row(path: str, proto: str, stratum: str, metric: str, a: dict, b: dict, rule: str,
                           judge: str) -> "Diff":
    """The ``Diff`` of a summary's identity-weighted value and interval (``benchmark.metrics.aggregate.summarize``)
    under the rule of its metric; a summary that carries it on one side only fails (re-store the result)."""
    from benchmark.reports.tolerance import within

    what = f"{metric} (identity-weighted)"
    if "value_identity_weighted" not in a or "value_identity_weighted" not in b:
        side = "re-run" if "value_identity_weighted" not in a else "stored result"
        return Diff(path, proto, stratum, what, _fmt(a.get("value_identity_weighted", "—")), "",
                    _fmt(b.get("value_identity_weighted", "—")), "", "equal", False,
                    f"the identity-weighted value is only in the {side}: store the result again")
    va, vb = ({**s, "value": s["value_identity_weighted"], "ci95": s["ci95_identity_weighted"]} for s in (a, b))
    ok, label, note = within(metric, va, vb, rule, judge)
    lo, hi = va["ci95"]
    return Diff(path, proto, stratum, what, _fmt(va["value"]), f"[{_fmt(lo)}, {_fmt(hi)}]", _fmt(vb["value"]),
                f"{vb['value'] - va['value']:+.3g}", label, ok, note)


def _config_key(result: dict, device: str | None) -> str:
    from benchmark.judges import judge_name_of
    from benchmark.reports.tables import population_of
    from benchmark.reports.check_data import is_manifest_result

    gen = result["generator"]
    data = [result["dataset"]["id"]] + ([result["dataset"]["identity"]["fingerprint"]] if is_manifest_result(result)
                                        else [])
    return json.dumps([gen.get("spec"), gen.get("args", {}), *data, result["seed"],
                       device or result["device"], judge_name_of(result.get("judge", {})),
                       judge_device_of(result, device), result.get("batch_size", 16),
                       result["protocol"].get("spec", {}).get("gallery_source"), result.get("evaluated_split"),
                       population_of(result)],  # the oracle's population (--two-face-speakers) is another run
                      sort_keys=True, default=str)


def _rerun(stored: dict, protocols: list[str], device: str, data_root, data_dir, use_cache: bool,
           progress: bool, judge_device: str = "cpu", allow_spec: Sequence[str] = (),
           dataset: str | None = None) -> list[dict]:
    from benchmark.engine.run import run_many
    from benchmark.judges import judge_name_of
    from benchmark.engine.submission import score
    from benchmark.generators.folder import FOLDER_SPEC
    from benchmark.reports.check_data import is_manifest_result

    gen = stored["generator"]
    dataset = dataset or stored["dataset"]["id"]
    if is_manifest_result(stored) and dataset != stored["dataset"]["id"]:  # a manifest path: it says where its files are
        data_root = data_dir = None
    common = dict(data_root=data_root, data_dir=data_dir, device=device, seed=stored["seed"],
                  judge=judge_name_of(stored.get("judge", {})), judge_device=judge_device,
                  split=stored.get("evaluated_split"),
                  batch_size=stored.get("batch_size", 16), use_cache=use_cache, progress=progress, write=False)
    if gen.get("spec") == FOLDER_SPEC:
        args = gen.get("args", {})
        if "faces_dir" not in args:
            raise BenchError("the submission result records no faces_dir; it cannot be re-scored.")
        keep = {k: args[k] for k in ("name", "allow_missing", "citation", "revision", "trained_against_judge",
                                     "holdout_rule", "reference") if k in args}
        datasets = [d for d in str(args.get("training_datasets", "")).split(",") if d]
        return score(args["faces_dir"], protocols, dataset, training_datasets=datasets,
                     **keep, **common)
    if not gen.get("spec"):
        raise BenchError("the result records no model spec (generator.spec); it cannot be re-run.")
    from benchmark.reports.tables import TWO_FACE, population_of
    from benchmark.safety import trusted_model_spec

    trusted_model_spec(gen["spec"], allow_spec)  # a spec read from a result file is never imported on its own
    return run_many(gen["spec"], protocols, dataset, model_args=gen.get("args") or {},
                    two_face_speakers=population_of(stored) == TWO_FACE, **common)


def check(results_dir: str | os.PathLike[str] = "leaderboards/results", names: Sequence[str] = (), *,
          tolerance: str = "auto", device: str | None = None, data_root: str | os.PathLike[str] | None = None,
          data_dir: str | os.PathLike[str] | None = None, use_cache: bool = True, progress: bool = False,
          judge: str | None = None, allow_spec: Sequence[str] = (), dataset: str | None = None,
          log=print) -> CheckReport:
    """Re-run stored results and compare them (module docstring for the rules).

    Args:
        results_dir: folder searched recursively for result JSON files.
        names: generator names, model specs, result files or folders to check (all if empty).
        tolerance: "auto" ("numeric" unless ``device`` names a GPU, then "ci"), "numeric", "exact" or "ci" (module
            docstring; ``benchmark.reports.tolerance``).
        device: re-run on this device instead of each result's own (a GPU here makes "auto" the CI rule).
        data_root: the dataset's own directory (when every selected result is on one dataset).
        data_dir: folder holding ``<dataset>/`` directories.
        use_cache: use the judge cache (it is keyed by content, so it cannot hide a change of the judge).
        progress: progress bars.
        judge: check only the results scored by this judge (a registry name, ``bench ls judges``); None: every
            result, each re-scored with its own judge.
        allow_spec: model specs (``file.py:Factory``, ``module:Factory``) the user trusts: a result whose
            ``generator.spec`` is one of them may be re-run. Any other spec that is not a registered generator
            or installed entry point (``benchmark.safety.trusted_model_spec``) is never imported: that result
            fails with "not a registered generator".
        dataset: the manifest (``manifest.json`` or its folder) of results scored on one, when it is no longer where
            they record (``benchmark.reports.check_data``); None: each result's own.
        log: where one line per checked result is printed.

    Returns:
        A ``CheckReport``; ``report.ok`` is False if anything moved beyond tolerance or could not be re-run.

    Raises:
        BenchError: the folder does not exist, a result file cannot be read, a name matches nothing (or no
            result of ``judge``), an unknown judge name (with suggestions) or an unknown tolerance; a result scored on
            a manifest that is missing or has another fingerprint (before anything is re-run;
            ``benchmark.reports.check_data.dataset_arguments``).
    """
    from benchmark.generators.folder import FOLDER_SPEC
    from benchmark.reports.tolerance import auto_rule

    if tolerance not in TOLERANCES:
        raise BenchError(f"--tolerance must be one of {', '.join(TOLERANCES)}, not {tolerance!r}.")
    if judge is not None:
        from benchmark.judges import judge_names
        from benchmark.registry import lookup

        lookup(judge, dict.fromkeys(judge_names()), "judge")  # "did you mean" for a misspelt name
    paths = find_results(results_dir)
    results = [read_result(p) for p in paths]
    chosen = select(paths, results, names, judge)
    if judge is not None:
        others = len(select(paths, results, names)) - len(chosen)
        if others:
            log(f"skipped {others} result file(s) of other judges (--judge {judge})")
    if (names or judge is not None) and not chosen:
        raise BenchError(f"no stored result in {results_dir} matches "
                         + ", ".join(list(names) + ([f"--judge {judge}"] if judge is not None else [])) + ".")
    if not chosen:
        raise BenchError(f"no result files under {results_dir}; nothing to check.")
    from benchmark.reports.check_data import dataset_arguments

    datasets = dataset_arguments(paths, results, chosen, dataset)  # refuses a missing or changed manifest up front
    groups: dict[str, list[int]] = {}
    for i in chosen:
        groups.setdefault(_config_key(results[i], device), []).append(i)
    siblings: dict[str, list[str]] = {}  # every stored protocol of a configuration, chosen or not
    for r in results:
        siblings.setdefault(_config_key(r, device), []).append(r["protocol"]["name"])
    report = CheckReport()
    root = Path(results_dir)
    for members in groups.values():
        first = results[members[0]]
        run_device, judge_device = device or first["device"], judge_device_of(first, device)
        protocols = list(dict.fromkeys(results[i]["protocol"]["name"] for i in members))
        if first["generator"].get("spec") == FOLDER_SPEC:
            # a submission folder holds the faces of every protocol it was scored on, and bench score refuses a
            # face no protocol of the run uses: re-score it with all its stored protocols, compare the chosen ones
            protocols = list(dict.fromkeys(protocols + siblings[_config_key(first, device)]))
        try:
            new = {r["protocol"]["name"]: r for r in _rerun(first, protocols, run_device, data_root, data_dir,
                                                            use_cache, progress, judge_device, allow_spec,
                                                            datasets[members[0]])
                   if "skipped" not in r}
            error = None
        except BenchError as exc:
            new, error = {}, str(exc)
        for i in members:
            stored, rel = results[i], _rel(paths[i], root)
            name = stored["protocol"]["name"]
            if error or name not in new:
                why = error or "the protocol could not run"
                report.rows.append(Diff(rel, name, "", "(re-run)", "", "", "", "", "", False, why.splitlines()[0]))
                report.files[rel] = False
                log(f"FAIL {rel}: cannot re-run: {why}")
                continue
            rule = tolerance if tolerance != "auto" else auto_rule(device)  # never from the file (tolerance.py)
            rows = compare(rel, stored, new[name], rule)
            report.rows += rows
            report.files[rel] = all(r.ok for r in rows)
            bad = sum(not r.ok for r in rows)
            log(f"{'ok  ' if not bad else 'FAIL'} {rel} ({rule}"
                f"{'' if not bad else f'; {bad} moved'})")
    return report


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
