"""msfam_mm.evaluation.fusion_report.scoring: a cached score is reused only
for the same fused image, the same sources and the same metric code; the
methods are compared on the pairs all of them have fused."""
import json

import cv2
import pytest

from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
from msfam_mm.evaluation.fusion_report import scoring
from msfam_mm.evaluation.fusion_report.methods import Method
from msfam_mm.evaluation.fusion_report.protocols import ReportError


@pytest.fixture
def tiny(tno42, tmp_path):
    """Two 64x80 TNO crops and an 'avg' folder that fused only the
    first."""
    pairs = {}
    for stem in ('05', '11'):
        vis = cv2.imread(str(tno42 / 'vi' / f'{stem}.png'),
                         cv2.IMREAD_GRAYSCALE)[:64, :80]
        ir = cv2.imread(str(tno42 / 'ir' / f'{stem}.png'),
                        cv2.IMREAD_GRAYSCALE)[:64, :80]
        for name, img in (('vi', vis), ('ir', ir)):
            (tmp_path / name).mkdir(exist_ok=True)
            cv2.imwrite(str(tmp_path / name / f'{stem}.png'), img)
        pairs[f'tno42/{stem}'] = (str(tmp_path / 'vi' / f'{stem}.png'),
                                  str(tmp_path / 'ir' / f'{stem}.png'))
        if stem == '05':
            (tmp_path / 'fused').mkdir()
            cv2.imwrite(str(tmp_path / 'fused' / '05.png'),
                        vis // 2 + ir // 2)
    return pairs, Method('avg', folder=str(tmp_path / 'fused'))


def test_cached_scores_follow_their_inputs(tiny, tmp_path, monkeypatch):
    pairs, method = tiny
    pairs = {'tno42/05': pairs['tno42/05']}
    work = str(tmp_path / 'work')

    def score():
        return scoring.score_methods([method], pairs, work, 1, False)[
            'avg']['tno42/05']['EN']

    first = score()
    vis, ir = (cv2.imread(p, cv2.IMREAD_GRAYSCALE) for p in pairs['tno42/05'])
    assert first == pytest.approx(evaluate_fusion(
        cv2.imread(str(tmp_path / 'fused' / '05.png'), 0), vis, ir,
        ['EN'])['EN'])
    cache = tmp_path / 'work' / 'metrics' / 'avg' / 'tno42' / '05.json'
    stored = json.loads(cache.read_text())
    stored['values']['EN'] = -1.0  # a marker: is the cache read?
    cache.write_text(json.dumps(stored))
    assert score() == -1.0
    # other metric code: recomputed
    monkeypatch.setattr(scoring, 'metrics_code_digest', lambda: 'v2')
    assert score() == pytest.approx(first)
    # another source image under the same name: recomputed
    stored = json.loads(cache.read_text())
    stored['values']['EN'] = -1.0
    cache.write_text(json.dumps(stored))
    assert score() == -1.0
    cv2.imwrite(pairs['tno42/05'][1], 255 - ir)
    assert score() == pytest.approx(first)


def test_groups_score_common_pairs_only(tiny, tmp_path):
    pairs, method = tiny
    work = str(tmp_path / 'work')
    results, missing = scoring.score_groups(
        {'tno42': [method]}, {'tno42': pairs}, work)
    assert list(results['tno42']['avg']) == ['tno42/05']
    assert missing == {'tno42': ['tno42/11']}
    # every per-source CC is there, within [-1, 1]
    values = results['tno42']['avg']['tno42/05']
    assert -1 <= values['CC_V'] <= 1 and -1 <= values['CC_I'] <= 1
    with pytest.raises(ReportError, match='no pair has been fused'):
        scoring.score_groups({'tno42': [method]},
                             {'tno42': {'tno42/11': pairs['tno42/11']}},
                             work)
    with pytest.raises(ReportError, match='11.png'):
        scoring.score_methods([method], pairs, work)


def test_unscorable_image_is_named(tiny, tmp_path):
    pairs, method = tiny
    (tmp_path / 'fused' / '05.png').write_bytes(b'not a png')
    with pytest.raises(ReportError, match='05.png'):
        scoring.score_methods([method], {'tno42/05': pairs['tno42/05']},
                              str(tmp_path / 'work'), progress=False)


def test_worker_processes_are_spawned(tiny, tmp_path, monkeypatch):
    """Two scoring processes give the values of one; they are spawned, not
    forked: the report runs the fusers' thread pools in its own process
    first, and a forked worker could inherit one of their locks held (a
    full-size report run hung that way)."""
    pairs, method = tiny
    pairs = {'tno42/05': pairs['tno42/05']}
    asked = []
    real = scoring.folder_scores.score_tasks

    def spy(*args, **kwargs):
        asked.append(kwargs.get('start_method'))
        return real(*args, **kwargs)
    monkeypatch.setattr(scoring.folder_scores, 'score_tasks', spy)
    one = scoring.score_methods([method], pairs, str(tmp_path / 'w1'), 1,
                                False)
    two = scoring.score_methods([method], pairs, str(tmp_path / 'w2'), 2,
                                False)
    assert one == two and asked == ['spawn', 'spawn']
