"""msfam_mm.evaluation.fusion_report.tables: the generated Markdown, with
hand-checkable values."""
import cv2
import numpy as np

from msfam_mm.evaluation.fusion_metrics import corr2, evaluate_fusion
from msfam_mm.evaluation.fusion_report.protocols import GOAL_METRICS
from msfam_mm.evaluation.fusion_report.tables import (correlation_table,
                                                      md_table, ranks_table,
                                                      training_table)
from msfam_mm.evaluation.fusion_report.training_data import TrainingData

PUB = ('P1', 'P2', 'P3', 'P4')


def test_md_table_bold_std_and_count():
    summ = {'A': {'EN': (7.0, 0.1, 3)}, 'B': {'EN': (6.0, 0.2, 3)},
            'me': {'EN': (6.7, 0.0, 2)}}
    table = md_table(summ, ['EN'], n=True)
    assert table.splitlines()[:2] == ['| Method | n | EN |', '|---|---:|---:|']
    assert '| A | 3 | **7.0000 ± 0.1000** |' in table
    assert '| me | 2 | 6.7000 ± 0.0000 |' in table
    plain = md_table(summ, ['EN'], digits=2, with_std=False, bold=False)
    assert '**' not in plain and '| B | 6.00 |' in plain


def test_ranks_table_counts_top3():
    """Ranks 1, 2, 5, 3, 3, 3 (by hand, as in test_summary): top-3 on 5 of
    6, first on 1; the 3rd published mean is 2.0 everywhere."""
    summ = {p: {m: (v, 0.0, 1) for m in GOAL_METRICS}
            for p, v in zip(PUB, (4.0, 3.0, 2.0, 1.0))}
    mine = dict(EN=5.0, MI=3.0, SCD=0.5)
    summ['me'] = {m: (mine.get(m, 2.5), 0.0, 1) for m in GOAL_METRICS}
    text = ranks_table(summ, who='me', published=PUB)
    lines = text.splitlines()
    assert lines[2] == '| rank among 5 | 1 | 2 | 5 | 3 | 3 | 3 |'
    assert lines[5] == '| 3rd published | ' + ' | '.join(
        ['2.0000'] * 6) + ' |'
    assert '| best published | 4.0000 (P1) |' in lines[4]
    assert lines[-1] == ('me: **top-3 on 5 of 6** (EN, MI, VIF, Qabf, '
                         'SSIM), first on 1 (EN).')
    # the Eq. 9 ranks in parentheses, for the metrics they change
    text = ranks_table(summ, summ, who='me', published=PUB)
    assert '| rank among 5 | 1 | 2 (2) | 5 (5) | 3 (3) | 3 (3) | 3 (3) |' \
        in text


def test_correlation_table_is_cc_with_each_source(tno42):
    """CC-V and CC-I are the output's correlation with each source: an
    output equal to the visible image has CC-V = 1, and CC-I = corr2(V,
    I); the average of the two is in between."""
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[100:164, 90:170], ir[100:164, 90:170]
    metrics = ['CC']
    res = {'copy visible': {'05': evaluate_fusion(vis, vis, ir, metrics)},
           'copy infrared': {'05': evaluate_fusion(ir, vis, ir, metrics)}}
    cc_vi = corr2(vis.astype(np.float64), ir.astype(np.float64))
    assert -1 < cc_vi < 0.99
    lines = correlation_table(res).splitlines()
    assert lines[0] == '| Method | CC-V | CC-I |'
    assert lines[2] == (f'| copy visible | 1.000 ± 0.000 | '
                        f'{cc_vi:.3f} ± 0.000 |')
    assert lines[3] == (f'| copy infrared | {cc_vi:.3f} ± 0.000 | '
                        '1.000 ± 0.000 |')


def test_training_table_counts_test_pairs():
    t = TrainingData('stage2', 'configs/x.py', 5, {'roadscene221': 3,
                                                   'tno42': 2},
                     {'tno42/05', 'roadscene221/a'}, 300, 4, '256x320')
    table = training_table([t], {'tno42': ['tno42/05', 'tno42/06',
                                           'tno42/07']})
    row = table.splitlines()[2]
    assert row.startswith('| stage2 | `configs/x.py` | 300 | 4 | 256x320 | '
                          '5 | roadscene221 3, tno42 2 | 1 / 3 | TNO')


def _values(x):
    """Every key evaluate_fusion returns, all equal to ``x``."""
    from msfam_mm.evaluation.fusion_metrics import output_keys
    return {k: x for k in output_keys()}


def test_render_report_sections():
    """The whole file from hand-made scores: the model (value 1.5) ranks
    4th among nine published methods (1.0 ... 1.8) on every metric, which
    is no top-3 place; the unseen pair gets a ranking of its own; left-out
    pairs are named; no classifier or size section without their data."""
    from msfam_mm.evaluation.fusion_report.methods import SHIPPED
    from msfam_mm.evaluation.fusion_report.protocols import (
        PROTOCOLS, PUBLISHED_METHODS)
    from msfam_mm.evaluation.fusion_report.tables import (ReportData,
                                                          render_report)
    keys = ('tno42/01', 'tno42/02')
    res = {SHIPPED: {k: _values(1.5) for k in keys}}
    for i, p in enumerate(PUBLISHED_METHODS):
        res[p] = {k: _values(1.0 + 0.1 * i) for k in keys}
    seen = TrainingData('stage2', 'c.py', 2, {'tno42': 2}, {'tno42/01'}, 300,
                        4, '256x320')
    data = ReportData(PROTOCOLS['cross'], ['made by hand'], [seen],
                      {'tno42': res}, {'tno42': ['tno42/03']}, None, None)
    text = render_report(data)
    assert text.startswith('# Generated results: protocol `cross`\n')
    assert 'made by hand' in text and '## TNO-42, 2 pairs' in text
    assert '**Partial:** 1 pair(s)' in text and '`tno42/03`' in text
    # all pairs (with the Eq. 9 ranks), then the unseen pair
    assert '| rank among 10 | 4 | 4 (4) | 4 (4) | 4 (4) |' in text
    assert '| rank among 10 | 4 | 4 | 4 | 4 | 4 | 4 |' in text
    assert f'{SHIPPED}: **top-3 on 0 of 6** (none), first on 0 (none).' \
        in text
    assert 'On the 1 pairs no training config above saw' in text
    assert '| stage2 | `c.py` | 300 | 4 | 256x320 | 2 | tno42 2 | 1 / 2 |' \
        in text
    assert '## Model size' not in text and 'classifier on' not in text
    assert 'Not run for this report' in text
    # the cross protocol may not train on a test pair: said in bold
    assert ('**Not a result of this protocol**: test pairs are among the '
            'training samples of stage2 (1 pairs of tno42).') in text
    clean = seen._replace(keys={'roadscene221/x'})
    assert 'Not a result' not in render_report(data._replace(
        training=[clean]))
    assert 'Not a result' not in render_report(data._replace(
        protocol=PROTOCOLS['paper'], results={'tno42': res, 'split': res}))
