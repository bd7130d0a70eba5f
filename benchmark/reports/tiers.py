"""The true-face tier and identity-weighted view of a leaderboard table (issue 20 §5).

On a VoxCeleb1-crop gallery (vox1-s2f) a probe's true face may come from another video, from its own video, or be
the crop of its own clip (``benchmark.trials.builders.TRUE_FACE_RULE``); the headline scores the other-video trials
(``benchmark.tasks.base.aggregate``). This module renders, under such a table, every tier apart, all pooled, and the
headline's identity-weighted value (every speaker once) beside the utterance-weighted headline.
"""

from __future__ import annotations

from benchmark.reports.rows import MEASURED, Row, Table

TIER_ORDER = ("other-video", "same-video", "same-clip", "all")


def tiers_markdown(table: Table, fmt_value) -> str:
    """Under a table whose trials have true-face tiers (a VoxCeleb1-crop gallery, ``TRUE_FACE_RULE``): the ranked
    metric per tier and identity-weighted, one row per measured generator ("" for any other table).

    Each cell is "value [95 % CI] (trials / identities)"; the headline column is the tier the table ranks by.
    ``fmt_value(metric, value, lo, hi)`` formats a value as the table does (``benchmark.reports.leaderboard``).
    """
    from tabulate import tabulate

    from benchmark.escape import md_text

    metric = table.rank_metric
    rows = [r for r in table.rows if r.kind == MEASURED and r.tiers and metric in r.scores]
    if not rows or metric is None:
        return ""
    tiers = [t for t in TIER_ORDER if any(t in r.tiers for r in rows)]

    def cell(r: Row, tier: str) -> str:
        v = r.tiers.get(tier, {}).get(metric)
        return "" if v is None else f"{fmt_value(metric, *v[:3])} ({v[3]} / {v[4]})"

    # the headline is the other-video tier wherever it has trials (benchmark.tasks.base.HEADLINE_TIER), else all pooled
    headline = "other-video" if "other-video" in tiers else "all"
    body = [[md_text(r.generator)] + [cell(r, t) for t in tiers]
            + [fmt_value(metric, *r.identity_weighted[metric]) if metric in r.identity_weighted else ""]
            for r in rows]
    headers = (["generator"] + [t + (" (headline)" if t == headline else "")
                                + (" (all tiers pooled)" if t == "all" else "") for t in tiers]
               + ["headline, identity-weighted"])
    ranks = ("the other-video trials (a true face from another video than the probe's)" if headline == "other-video"
             else "all tiers pooled (no trial has a true face from another video)")
    intro = (f"True-face tiers of {metric} (`benchmark.trials.builders.TRUE_FACE_RULE`): the table ranks {ranks}; "
             "each tier apart, all pooled, and the headline identity-weighted (every speaker once) — value [95 % CI] "
             "(trials / identities).")
    return intro + "\n\n" + tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
