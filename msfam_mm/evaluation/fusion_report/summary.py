"""Means over a test set, conventions, and ranks among the published
methods.

Every metric here is higher-is-better. A rank counts the rivals that are
strictly better, so ties share the better place: rank 1 is the best, and
"top-3" means at most two rivals are better.

Example:
    >>> summ = {'A': {'EN': (7.0, 0.1)}, 'B': {'EN': (6.0, 0.2)},
    ...         'me': {'EN': (6.5, 0.0)}}
    >>> rank(summ, 'EN', ['A', 'B'], 'me')
    2
"""
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

from ..fusion_metrics.evaluate import PAIRWISE_METRICS, SINGLE_METRICS
from ..fusion_metrics.folder_scores import summarise
from .protocols import GOAL_METRICS, PUBLISHED_METHODS

__all__ = ['DIFFERING', 'BALANCE_METRICS', 'combine', 'summary', 'rank',
           'goal_ranks', 'top3_count', 'goal_reference', 'balance_line',
           'third_published']

#: where 'standard' and Eq. 9 'mean' differ (CC and MS-SSIM are already
#: means in 'standard'; evaluate_fusion halves the SCD sum under 'mean')
DIFFERING = ('MI', 'SCD', 'VIF', 'Qabf', 'SSIM', 'PSNR')
#: per-source halves: ``_V`` against the visible image, ``_I`` against the
#: infrared one (CC_V, CC_I: the output's correlation with each source)
BALANCE_METRICS = ('CC_V', 'CC_I', 'SSIM_V', 'SSIM_I', 'MI_V', 'MI_I',
                   'VIF_V', 'VIF_I', 'Qabf_V', 'Qabf_I')

#: ``{method: {metric: (mean, sample std, n)}}``
Summary = Dict[str, Dict[str, Tuple[float, float, int]]]


def combine(values: dict, metric: str, convention: str) -> float:
    """A metric under ``convention`` from the ``standard`` run's values
    (``metric`` itself there, else its per-source ``_V`` and ``_I``;
    module docstring of :mod:`..fusion_metrics.evaluate`)."""
    if convention == 'standard' or metric in SINGLE_METRICS \
            or metric not in PAIRWISE_METRICS:
        return values[metric]
    a, b = values[f'{metric}_V'], values[f'{metric}_I']
    return 0.5 * (a + b) if convention == 'mean' else a + b


def summary(results: Dict[str, Dict[str, dict]], metrics: Sequence[str],
            convention: str = 'standard') -> Summary:
    """Per method and metric, mean, sample std and count over its pairs
    (:func:`..fusion_metrics.folder_scores.summarise`)."""
    rows = [(name, key, {m: combine(v, m, convention) for m in metrics})
            for name, per_key in results.items()
            for key, v in per_key.items()]
    return OrderedDict(
        (name, stats) for name, stats in
        summarise(rows, list(results), list(metrics)).items())


def rank(summ, metric: str, rivals: Sequence[str], who: str) -> int:
    """1-based rank of ``who`` among ``rivals`` + ``who`` by mean."""
    mine = summ[who][metric][0]
    return 1 + sum(summ[c][metric][0] > mine for c in rivals if c != who)


def goal_ranks(summ, who: str,
               rivals: Sequence[str] = PUBLISHED_METHODS,
               metrics: Sequence[str] = GOAL_METRICS) -> Dict[str, int]:
    """``{metric: rank of who among rivals + who}``."""
    return OrderedDict((m, rank(summ, m, rivals, who)) for m in metrics)


def top3_count(ranks: Dict[str, int]) -> int:
    """On how many metrics a rank is 1, 2 or 3."""
    return sum(r <= 3 for r in ranks.values())


def third_published(summ, metrics: Sequence[str] = GOAL_METRICS,
                    published: Sequence[str] = PUBLISHED_METHODS
                    ) -> Dict[str, float]:
    """The 3rd-best published mean per metric: the bar for a top-3
    place."""
    return OrderedDict(
        (m, sorted((summ[p][m][0] for p in published), reverse=True)[2])
        for m in metrics)


def goal_reference(summ, others: Sequence[str],
                   published: Sequence[str] = PUBLISHED_METHODS,
                   metrics: Sequence[str] = GOAL_METRICS
                   ) -> Tuple[List[Tuple[str, Dict[str, int], int, int]],
                              Tuple[int, List[str]]]:
    """The ranking applied to each published method (among the other
    published ones plus itself) and to each of ``others`` (ranked as the
    model is): rows ``(name, ranks, top-3 count, best count)`` and the
    most top-3 places of a published method with who has them. It tells
    how strict a top-3 target is, with the same suite, for methods that
    were not tuned to it."""
    rows, most = [], (0, [])
    for who in list(published) + list(others):
        rk = goal_ranks(summ, who, [p for p in published if p != who],
                        metrics)
        n_top3, n_best = top3_count(rk), sum(r == 1 for r in rk.values())
        rows.append((who, rk, n_top3, n_best))
        if who in published:
            if n_top3 > most[0]:
                most = (n_top3, [who])
            elif n_top3 == most[0]:
                most[1].append(who)
    return rows, most


def balance_line(summ, who: str,
                 published: Sequence[str] = PUBLISHED_METHODS) -> str:
    """What ``who`` takes from each source, against the published range:
    CC with each source, and the infrared term's share of MI and VIF (sums
    over the two sources in the ``standard`` convention, so an output that
    copies one source scores high on them)."""
    def share(name, m):
        v, i = summ[name][f'{m}_V'][0], summ[name][f'{m}_I'][0]
        return 100.0 * i / (v + i) if v + i > 0 else float('nan')

    pub = [p for p in published if p in summ]
    cv, ci = summ[who]['CC_V'][0], summ[who]['CC_I'][0]
    parts = [f'{who}: CC with the visible image {cv:.3f}, with the '
             f'infrared image {ci:.3f}; infrared share of MI '
             f"{share(who, 'MI'):.0f} %, of VIF {share(who, 'VIF'):.0f} %."]
    if pub:
        def extremes(score):
            return min(pub, key=score), max(pub, key=score)

        cc = {}  # source -> (lowest, highest) published CC
        for src, key in (('visible', 'CC_V'), ('infrared', 'CC_I')):
            lo, hi = extremes(lambda p, k=key: summ[p][k][0])
            cc[src] = (summ[lo][key][0], summ[hi][key][0])
            parts.append(('The published methods: ' if src == 'visible'
                          else '') + f'{key.replace("_", "-")} '
                         f'{cc[src][0]:.3f} ({lo}) to '
                         f'{cc[src][1]:.3f} ({hi}),')
        for m in ('MI', 'VIF'):
            lo, hi = extremes(lambda p, m=m: share(p, m))
            parts.append(f'infrared share of {m} {share(lo, m):.0f} % '
                         f'({lo}) to {share(hi, m):.0f} % ({hi})' +
                         (',' if m == 'MI' else '.'))
        own = {'visible': cv, 'infrared': ci}
        for closer, other in (('infrared', 'visible'),
                              ('visible', 'infrared')):
            if own[closer] > cc[closer][1] and own[other] < cc[other][0]:
                parts.append(
                    f'{who} is closer to the {closer} image, and farther '
                    f'from the other one, than every published method: it '
                    f'mostly passes the {closer} image through, and its MI '
                    'and VIF come mostly from that one source.')
    return ' '.join(parts)
