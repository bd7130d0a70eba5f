"""Task "age" scored against the manifest's own age labels (issue 19, item 3).

When a dataset manifest gives its identities an age (``benchmark.data.manifest_io``: whole years such as "34", or a
band "20-39" / ">=60", each with its source: "human" or "model:<name>@<weights sha256>"), the ``age`` protocol takes
that label as the speaker's truth (``spec.age_reference`` = ``benchmark.data.datasets.MANIFEST_AGE_REFERENCE``, set by
``benchmark.data.datasets.dataset_spec``) instead of the median age the predictor reads from the speaker's faces.

Trial rule (``build``): one trial per utterance of every ``spec.probe_split`` identity with an age label whose band
under ``spec.age_bands`` is known (``label_band``); identities without a label, or whose band straddles an edge of the
protocol's bands, are excluded with the reason. ``ref_band`` is the label's band index; ``ref_age`` the label in years
("" for a band). The sources of the labels are a context line of the trial file, so the sha256 says whose truth it is.

Score (``score``): ``band_accuracy`` (the generated face's predicted band vs the label's band; a failed face counts
wrong), ``abs_age_gap`` only when every trial's label is in years, the baseline ``majority_band_accuracy`` (the
commonest band said for every trial), and the ceiling ``real_face_band_accuracy`` (the predictor's band on each real
gallery face of the speakers vs their label) — left out when the truth is this attribute model's own labels
(``bench label``): the model agreeing with itself is no ceiling. ``info.truth`` names the label sources and whether
any is a model label; the table heading says so from ``dataset.identity.labels`` (``benchmark.data.identity``).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.manifest import Identity, Manifest
from benchmark.metrics.pairwise import AGE_BAND_NAMES as BAND_NAMES, age_band, agreement
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import TrialTable, gender_of, generated_attributes
from protocols.spec import ProtocolSpec


def label_band(label: str, edges) -> int | None:
    """The band index (``benchmark.metrics.pairwise.age_band`` with ``edges``) of a manifest age label.

    Args:
        label: whole (or decimal) years "34", a band "20-39" (both ends included, whole years) or ">=60".
        edges: increasing band edges in years (``ProtocolSpec.age_bands``).

    Returns:
        An int in [0, len(edges)]; None for an empty label or a band whose ends fall in different bands of ``edges``
        ("20-39" under (35, 65)): such a label cannot say which band is right.

    Example:
        >>> label_band("34", (35.0, 65.0)), label_band("20-39", (40.0, 59.0)), label_band(">=60", (40.0, 59.0))
        (0, 0, 2)
        >>> label_band("20-39", (35.0, 65.0)) is None
        True
    """
    label = label.strip()
    if not label:
        return None
    if label.startswith(">="):
        lo = float(label[2:])
        band = int(age_band(torch.tensor([lo], dtype=torch.float64), edges)[0])
        return band if band == len(edges) else None
    if "-" in label:
        lo, hi = (float(x) for x in label.split("-", 1))
        bands = age_band(torch.tensor([lo, hi], dtype=torch.float64), edges).tolist()
        return bands[0] if bands[0] == bands[1] else None
    return int(age_band(torch.tensor([float(label)], dtype=torch.float64), edges)[0])


def own_model_source() -> str:
    """``model:<id>@<weights sha256>`` of the installed attribute model (the source ``bench label`` writes)."""
    from benchmark.judges.attributes import info_dict

    info = info_dict()
    return f"model:{info['id']}@{info['weights_sha256']}"


def _years(label: str) -> str:
    return label if label and "-" not in label and not label.startswith(">=") else ""


def build(manifest: Manifest, spec: ProtocolSpec, real: FaceTable) -> Plan:
    """One trial per utterance of each probe identity with a usable age label (module docstring).

    Raises:
        ProtocolUnavailable: no identity of the probe split has an age label that falls in one band.
    """
    from benchmark.errors import ProtocolUnavailable
    from benchmark.tasks.gender import real_attributes

    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "ref_age", "ref_band", "stratum")}
    excluded: list[dict] = []
    labelled: list[Identity] = []
    for ident in manifest.split(spec.probe_split):
        band = label_band(ident.age, spec.age_bands)
        if band is None:
            reason = ("no age label" if not ident.age else
                      f"age band {ident.age} straddles an edge of the protocol's bands {list(spec.age_bands)}")
            excluded.append({"identity": ident.id, "reason": reason})
            continue
        labelled.append(ident)
        for utt in manifest.utterances_of(ident.id):
            cols["probe"].append(utt.id)
            cols["speaker"].append(ident.id)
            cols["ref_age"].append(_years(ident.age))
            cols["ref_band"].append(str(band))
            cols["stratum"].append(gender_of(manifest, ident.id))
    if not cols["probe"]:
        raise ProtocolUnavailable(f"protocol {spec.name!r}: no {spec.probe_split} identity of dataset "
                                  f"{manifest.dataset_id!r} has an age label in one of the bands "
                                  f"{list(spec.age_bands)} (give ages in whole years, or bands inside those).")
    sources = sorted({i.age_source for i in labelled})
    own = own_model_source() in sources
    aux: dict = {"sources": sources, "own_model": own}
    if not own:  # the ceiling: the predictor on the speakers' real gallery faces vs their labels
        _, owners, preds = real_attributes(manifest, spec, real, {i.id for i in labelled})
        aux.update(real_owner=owners, real_pred=preds)
    trials = TrialTable(cols, context={"age_bands": ";".join(f"{e:g}" for e in spec.age_bands),
                                       "reference": "manifest age labels", "age_sources": ";".join(sources)},
                        excluded=excluded, aux=aux)
    return Plan(trials=trials, probes=sorted(set(cols["probe"])),
                info={"reference": "manifest", "age_sources": sources,
                      "real_faces_predicted": len(aux.get("real_owner", []))})


def _merge(scores: dict, strata: dict, more: tuple[dict, dict]) -> None:
    scores.update(more[0])
    for name, metrics in more[1].items():
        strata.setdefault(name, {}).update(metrics)


def score(plan: Plan, generated: Generated, manifest: Manifest, spec: ProtocolSpec, device: str,
          seed: int) -> TaskScores:
    """``band_accuracy`` (and ``abs_age_gap`` for labels in years), ``majority_band_accuracy`` and, unless the truth is
    this model's own labels, the ceiling ``real_face_band_accuracy``: overall and per speaker gender (module docstring).
    ``band_accuracy`` is flagged when the ceiling's interval does not lie above the baseline's (issue 20 §5)."""
    from benchmark.judges.attributes import COLUMNS, info_dict

    trials: TrialTable = plan.trials
    dev = torch.device(device)
    col = COLUMNS.index("age_years")
    attrs = generated_attributes(trials, generated, dev)  # [N, 4]
    age = attrs[:, col].double()  # [N] years; NaN for a failed face
    ref_band = torch.tensor([int(b) for b in trials["ref_band"]], dtype=torch.long, device=dev)  # [N]
    failed = age.isnan()  # [N] a failed (blank) face: band wrong, gap undefined (NaN: excluded, counted)
    values = {"band_accuracy": agreement(age_band(age, spec.age_bands), ref_band).masked_fill(failed, 0.0)}
    years = [str(a) for a in trials["ref_age"]]
    if all(years):
        ref_age = torch.tensor([float(a) for a in years], dtype=torch.float64, device=dev)  # [N]
        values["abs_age_gap"] = (age - ref_age).abs().float()
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed)
    aux = trials.aux
    if not aux["own_model"] and aux["real_owner"]:
        owners = aux["real_owner"]
        real_band = age_band(torch.from_numpy(np.asarray(aux["real_pred"], dtype=np.float64)[:, col]),
                             spec.age_bands)  # [F]
        band_of = dict(zip([str(s) for s in trials["speaker"]], [int(b) for b in trials["ref_band"]]))
        truth = torch.tensor([band_of[o] for o in owners], dtype=torch.long)  # [F]
        _merge(scores, strata, aggregate({"real_face_band_accuracy": agreement(real_band, truth)}, owners,
                                         [gender_of(manifest, o) for o in owners], spec, seed))
    names = BAND_NAMES.get(tuple(spec.age_bands), [str(b) for b in range(len(spec.age_bands) + 1)])
    counts = torch.bincount(ref_band, minlength=len(names)).tolist()
    majority = (ref_band == int(np.argmax(counts))).double()  # [N] 1 where the commonest band is right
    base = aggregate({"majority_band_accuracy": majority}, trials["speaker"], trials["stratum"], spec, seed)
    _merge(scores, strata, base)
    ceiling, floor = scores.get("real_face_band_accuracy"), scores["majority_band_accuracy"]
    if ceiling and not ceiling["ci95"][0] > floor["ci95"][1]:
        reason = (f"the predictor's band on real faces ({ceiling['value']:.3f} [{ceiling['ci95'][0]:.3f}, "
                  f"{ceiling['ci95'][1]:.3f}]) is not above the commonest band said for every speaker "
                  f"({floor['value']:.3f} [{floor['ci95'][0]:.3f}, {floor['ci95'][1]:.3f}]): this protocol cannot "
                  "separate generators here")
        scores["band_accuracy"]["flag"] = "; ".join(filter(None, [scores["band_accuracy"].get("flag"), reason]))
    sources = aux["sources"]
    info = {"attribute_model": info_dict(), "age_bands": names, "reference": spec.age_reference,
            "truth": {"age_sources": sources, "model_labels": any(s.startswith("model:") for s in sources)},
            "ceiling": ("none: the truth is this attribute model's own labels (bench label), so its agreement with "
                        "them on the real faces would be a tautology, not a ceiling" if aux["own_model"] else
                        "real_face_band_accuracy: the predictor's band on the real gallery faces of the speakers vs "
                        "their age label"),
            "reference_band_share": {n: c / len(trials) for n, c in zip(names, counts)},
            "chance": {"most frequent band": max(counts) / len(trials)},
            "generated_mean_age_years": float(age.nanmean()),
            "generated_faces_detected_by_predictor": float(attrs[:, COLUMNS.index("face_detected")].nan_to_num(0.0).mean()),
            "failed_faces": int(failed.sum())}
    return TaskScores(scores=scores, strata=strata, info=info)
