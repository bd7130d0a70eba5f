"""How ``bench run`` and ``bench score`` print a result: header, score table, provenance lines."""

from __future__ import annotations

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
            rows.append([metric, stratum, f"{s['value']:.4f}", f"[{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]",
                         s["n"], s["n_identities"], mark])
    lines = [tabulate(rows, headers=["metric", "stratum", "value", "95% CI", "trials", "identities", "flag"])]
    if kinds:
        lines.append("95% CI: percentile bootstrap over identities (" + "; ".join(kinds) + ")")
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
    """Print one protocol's result as ``bench run`` shows it (header, score table, provenance lines)."""
    if "skipped" in result:
        print(f"protocol {result['protocol']['name']} skipped: {result['skipped']}")
        return
    gen, proto, data, inputs = result["generator"], result["protocol"], result["dataset"], result["inputs"]
    print(f"model {gen['name']} | protocol {proto['name']} v{proto['version']} | dataset {data['id']}"
          f"{' (PARTIAL)' if data.get('partial') else ''} | seed {result['seed']} | device {result['device']}")
    if data.get("partial"):
        print(f"WARNING: {data['partial']['note']}; ranked apart from full runs on leaderboards")
    print(format_scores(result))
    for key in ("cap_reason", "gallery_note"):  # capped N / K values and small galleries: say so here too
        if result.get("info", {}).get(key):
            print(f"note: {result['info'][key]}")
    print(f"trials sha256 {result['trials']['sha256'][:16]}… ({result['trials']['count']} trials, "
          f"{result['trials']['probes']} probe utterances)")
    print("excluded identities: " + _excluded_line(result))
    tiers = (result["trials"].get("true_face") or {}).get("trials")
    if tiers:  # a VoxCeleb1-crop gallery (vox1-s2f): benchmark.trials.builders.TRUE_FACE_RULE
        print(f"true faces ({result['trials']['true_face']['rule']}): " + ", ".join(f"{n} {t}" for t, n in tiers.items())
              + " trials")
    if "real_faces_this_protocol" in inputs:
        scope = inputs.get("real_faces_scope", [])
        print(f"gallery: {inputs['real_faces_this_protocol']} real faces used by this protocol, of the "
              f"{inputs['real_faces_embedded']} embedded for the {len(scope)} protocol(s) of this run"
              + (f" ({', '.join(scope)})" if 1 < len(scope) <= 4 else "")
              + (f"; {inputs['real_faces_small_excluded']} smaller than 32 px excluded"
                 if inputs.get("real_faces_small_excluded") else ""))
    conformance = result.get("conformance") or {}
    if conformance.get("status") in ("passed", "skipped"):
        print(f"conformance: {conformance['status']}"
              + (f" ({', '.join(conformance.get('checks', []))})" if conformance.get("checks") else
                 f" ({conformance.get('reason', '')})"))
    print(f"real faces (all protocols of this run): {inputs['real_faces_embedded']} embedded "
          f"({inputs['real_faces_detected']} detected, "
          f"{inputs['real_faces_fallback_box']} centre-box fallback), {inputs['real_faces_blank_excluded']} blank "
          f"excluded; generated: {inputs['generated_detected']} detected, {inputs['generated_fallback_box']} "
          f"centre-box fallback, {inputs.get('generated_failed_blank', 0)} blank (failed faces)")
    print(f"time {result['timing']['total_s']:.1f} s; result written to {result.get('path')}")
