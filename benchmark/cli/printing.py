"""How ``bench run`` and ``bench score`` print a result: header, score table, provenance lines."""

from __future__ import annotations

import sys

TOY_WARNING = ("NOTE: dataset 'toy' is the synthetic known-answer world: these numbers test the pipeline and "
               "say nothing about real voices.")


def format_scores(result: dict) -> str:
    """A tabulate table of a result's scores: one row per metric and stratum, value, 95 % CI, trials, identities.

    A summary whose interval cannot be trusted (``"flag"``, rules in ``benchmark.metrics.aggregate``) gets a numbered mark
    in the ``flag`` column and its reason under the table; a line names the bootstrap(s) the intervals came from.
    """
    from tabulate import tabulate

    rows, reasons, kinds = [], {}, []
    for stratum, scores in [("all", result["scores"])] + list(result["strata"].items()):
        for metric, s in scores.items():
            mark = ""
            for reason in filter(None, (s.get("flag") or "").split("; ")):
                mark += f"[{reasons.setdefault(reason, len(reasons) + 1)}]"
            if s.get("bootstrap") and s["bootstrap"] not in kinds:
                kinds.append(s["bootstrap"])
            iw = s.get("value_identity_weighted")
            rows.append([metric, stratum, f"{s['value']:.4f}", f"[{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]",
                         "" if iw is None else f"{iw:.4f}", s["n"], s["n_identities"], mark])
    lines = [tabulate(rows, headers=["metric", "stratum", "value", "95% CI", "id-weighted", "trials", "identities",
                                     "flag"])]
    if kinds:
        lines.append("95% CI: percentile bootstrap over identities (" + "; ".join(kinds) + ")")
    if any(r[4] for r in rows):
        lines.append("value: utterance-weighted mean of the trials (the headline); id-weighted: mean of the "
                     "per-speaker means (every speaker once)")
    lines += [f"[{k}] CI not to be trusted: {reason}" for reason, k in reasons.items()]
    return "\n".join(lines)


def _excluded_line(result: dict) -> str:
    """Identities left out, from the dataset (no face, no voice, not in the metadata) and from the trials."""
    dataset = result["dataset"].get("excluded_identities", [])
    trials = result["trials"].get("excluded_identities", [])

    def names(items) -> str:
        shown = [str(i.get("identity", i)) if isinstance(i, dict) else str(i) for i in items[:5]]
        return ", ".join(shown) + (" …" if len(items) > 5 else "")

    parts = [f"{len(dataset)} by the dataset" + (f" ({names(dataset)}; reasons in the result JSON)" if dataset else ""),
             f"{len(trials)} by this protocol's trials" + (f" ({names(trials)})" if trials else "")]
    return "; ".join(parts)


def print_result(result: dict) -> None:
    """Print one protocol's result as ``bench run`` shows it (header, score table, provenance lines).

    The result is read through the typed schema (``benchmark.results.schema.Result``): a malformed one gets one
    error naming the field, not a ``KeyError``.
    """
    if "skipped" in result:
        print(f"protocol {result['protocol']['name']} skipped: {result['skipped']}")
        return
    from benchmark.results.schema import ABSENT, Result

    typed = Result.from_dict(result, "", str(result.get("path") or "of this run"))
    gen, proto, data, trials = typed.generator, typed.protocol, typed.dataset, typed.trials
    inputs, info = typed.inputs, typed.info or {}
    print(f"model {gen.name} | protocol {proto.name} v{proto.version} | dataset {data.id}"
          f"{' (PARTIAL)' if data.partial else ''} | seed {typed.seed} | device {typed.device}")
    if data.partial:
        print(f"WARNING: {data.partial['note']}; ranked apart from full runs on leaderboards")
    print(format_scores(result))
    for key in ("cap_reason", "gallery_note"):  # capped N / K values and small galleries: say so here too
        if info.get(key):
            print(f"note: {info[key]}")
    print(f"trials sha256 {trials.sha256[:16]}… ({trials.count} trials, {trials.probes} probe utterances)")
    print("excluded identities: " + _excluded_line(result))
    tiers = (trials.extra.get("true_face") or {}).get("trials")
    if tiers:  # a VoxCeleb1-crop gallery (vox1-s2f): benchmark.trials.builders.TRUE_FACE_RULE
        head = trials.extra["true_face"].get("headline")
        print(f"true faces ({trials.extra['true_face']['rule']}): " + ", ".join(f"{n} {t}" for t, n in tiers.items())
              + " trials" + (f"; headline (stratum all) scores the {head} trials, each tier is a true_face= stratum"
                             if head == "other-video" else f"; headline: {head}" if head else ""))
    if inputs.real_faces_this_protocol is not ABSENT:
        scope = inputs.real_faces_scope or []
        print(f"gallery: {inputs.real_faces_this_protocol} real faces used by this protocol, of the "
              f"{inputs.real_faces_embedded} embedded for the {len(scope)} protocol(s) of this run"
              + (f" ({', '.join(scope)})" if 1 < len(scope) <= 4 else "")
              + (f"; {inputs.real_faces_small_excluded} smaller than 32 px excluded"
                 if inputs.real_faces_small_excluded else ""))
    conformance = typed.conformance
    if conformance and conformance.status in ("passed", "skipped"):
        print(f"conformance: {conformance.status}"
              + (f" ({', '.join(conformance.checks)})" if conformance.checks else f" ({conformance.reason or ''})"))
    print(f"real faces (all protocols of this run): {inputs.real_faces_embedded} embedded "
          f"({inputs.real_faces_detected} detected, "
          f"{inputs.real_faces_fallback_box} centre-box fallback), {inputs.real_faces_blank_excluded} blank "
          f"excluded; generated: {inputs.generated_detected} detected, {inputs.generated_fallback_box} "
          f"centre-box fallback, {inputs.generated_failed_blank or 0} blank (failed faces)")
    print(f"time {typed.timing['total_s']:.1f} s; result written to {result.get('path')}")


def nothing_scored(results: list[dict]) -> int:
    """2 (with every reason on stderr) when every protocol of a run was skipped and nothing was scored, else 0."""
    if results and all("skipped" in r for r in results):
        reasons = "\n  ".join(f"{r['protocol']['name']}: {r['skipped']}" for r in results)
        print(f"bench: error: nothing was scored; every protocol was skipped:\n  {reasons}", file=sys.stderr)
        return 2
    return 0


def unsaved(results: list[dict]) -> int:
    """2 (with one error line naming the files) when a result file could not be written, else 0."""
    from benchmark.results.save import unsaved_message

    message = unsaved_message(results)
    if message:
        print(f"bench: error: {message}", file=sys.stderr)
        return 2
    return 0
