"""msfam_mm.evaluation.fusion_report.summary: conventions from per-source
values, means, ranks, top-3 counts and the source-balance sentence."""
import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import (PAIRWISE_METRICS,
                                                SINGLE_METRICS,
                                                evaluate_fusion)
from msfam_mm.evaluation.fusion_report.protocols import GOAL_METRICS
from msfam_mm.evaluation.fusion_report.summary import (
    DIFFERING, balance_line, combine, goal_ranks, goal_reference, rank,
    summary, third_published, top3_count)


def test_conventions_from_per_source_values(tno42):
    """Eq. 9 'mean' and 'sum' are derived from one 'standard' run; they
    must equal evaluate_fusion's own conventions, and DIFFERING lists
    exactly the metrics where 'standard' and 'mean' differ."""
    vis = cv2.imread(str(tno42 / 'vi' / '11.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '11.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[:96, :112], ir[:96, :112]
    fused = np.maximum(vis, ir)
    std = evaluate_fusion(fused, vis, ir)
    for conv in ('mean', 'sum'):
        ref = evaluate_fusion(fused, vis, ir, convention=conv)
        for m in SINGLE_METRICS + PAIRWISE_METRICS:
            assert combine(std, m, conv) == pytest.approx(
                ref[m], rel=1e-12, abs=1e-12), (conv, m)
    mean = evaluate_fusion(fused, vis, ir, convention='mean')
    assert {m for m in PAIRWISE_METRICS
            if not np.isclose(std[m], mean[m])} == set(DIFFERING)
    # a per-source key is taken as it is
    assert combine(std, 'CC_I', 'mean') == std['CC_I']


def test_summary_means_and_sample_std():
    res = {'A': {'p1': {'EN': 1.0, 'MI_V': 1.0, 'MI_I': 3.0},
                 'p2': {'EN': 3.0, 'MI_V': 2.0, 'MI_I': 2.0}}}
    s = summary(res, ['EN'])
    assert s['A']['EN'] == pytest.approx((2.0, 2 ** 0.5, 2))
    # mean convention: (1+3)/2 = 2 and (2+2)/2 = 2
    assert summary(res, ['MI'], 'mean')['A']['MI'][:2] == (2.0, 0.0)


def _goal_rows(**values):
    """``{method: {metric: (mean, 0, 1)}}`` with one mean per method for
    every goal metric, overridable per metric."""
    return {name: {m: (v.get(m, v['all']) if isinstance(v, dict) else v,
                       0.0, 1) for m in GOAL_METRICS}
            for name, v in values.items()}


def test_rank_top3_and_third():
    """Ranks count strictly better rivals (ties share the better place);
    the top-3 count and the 3rd-best published bar by hand."""
    pub = ('P1', 'P2', 'P3', 'P4')
    summ = _goal_rows(P1=4.0, P2=3.0, P3=2.0, P4=1.0,
                      me={'all': 2.5, 'EN': 5.0, 'MI': 3.0, 'SCD': 0.5})
    assert rank(summ, 'EN', pub, 'me') == 1
    assert rank(summ, 'MI', pub, 'me') == 2   # P1 better, P2 ties
    assert rank(summ, 'VIF', pub, 'me') == 3  # P1, P2 better
    assert rank(summ, 'SCD', pub, 'me') == 5  # last
    rk = goal_ranks(summ, 'me', pub)
    assert list(rk.values()) == [1, 2, 5, 3, 3, 3]
    assert top3_count(rk) == 5
    third = third_published(summ, published=pub)
    assert third == {m: 2.0 for m in GOAL_METRICS}
    # a rival list that holds the ranked method does not rank it twice
    assert rank(summ, 'EN', pub + ('me', ), 'me') == 1


def test_goal_reference_rows():
    """Each published method ranked among the others, each baseline among
    all published ones; the most top-3 places of a published method."""
    def row(**over):
        return {m: (over.get(m, 1.0), 0.0, 1) for m in GOAL_METRICS}
    pub = ('P1', 'P2', 'P3', 'P4')
    summ = {'P1': row(EN=4.0, MI=4.0, SCD=4.0), 'P2': row(EN=3.0, VIF=2.0),
            'P3': row(EN=2.0, Qabf=3.0), 'P4': row(EN=1.0, SSIM=0.5),
            'baseline: max': {m: (9.0, 0.0, 1) for m in GOAL_METRICS}}
    rows, most = goal_reference(summ, ['baseline: max'], published=pub)
    table = {who: (list(rk.values()), n3, n1) for who, rk, n3, n1 in rows}
    assert table['P1'] == ([1, 1, 1, 2, 2, 1], 6, 4)
    assert table['P2'] == ([2, 2, 2, 1, 2, 1], 6, 2)
    assert table['P4'] == ([4, 2, 2, 2, 2, 4], 4, 0)
    assert table['baseline: max'] == ([1] * 6, 6, 6)
    assert most == (6, ['P1', 'P2', 'P3'])


def test_balance_line():
    """CC with each source against the published range, infrared shares
    of MI and VIF, and the 'passes through' verdict only outside the
    published range on both sources."""
    def row(cv, ci, mv=1.0, mi=1.0, vv=0.3, vi=0.3):
        return {'CC_V': (cv, 0.0), 'CC_I': (ci, 0.0), 'MI_V': (mv, 0.0),
                'MI_I': (mi, 0.0), 'VIF_V': (vv, 0.0), 'VIF_I': (vi, 0.0)}
    summ = {'P1': row(0.6, 0.4, mv=1.5, mi=0.5),
            'P2': row(0.2, 0.8, mv=0.5, mi=1.5, vv=0.1, vi=0.3),
            'me': row(-0.1, 0.97, mv=0.5, mi=2.0, vv=0.1, vi=0.9)}
    line = balance_line(summ, 'me', published=('P1', 'P2'))
    assert line.startswith('me: CC with the visible image -0.100, with the '
                           'infrared image 0.970; infrared share of MI '
                           '80 %, of VIF 90 %.')
    assert 'The published methods: CC-V 0.200 (P2) to 0.600 (P1)' in line
    assert 'CC-I 0.400 (P1) to 0.800 (P2)' in line
    assert 'infrared share of MI 25 % (P1) to 75 % (P2)' in line
    assert 'mostly passes the infrared image through' in line
    summ['me'] = row(0.3, 0.97)
    assert 'passes' not in balance_line(summ, 'me', published=('P1', 'P2'))
    summ['me'] = row(0.9, 0.1)
    assert 'passes the visible image through' in balance_line(
        summ, 'me', published=('P1', 'P2'))
