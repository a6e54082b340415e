"""tools/make_report.py reuses a cached score only for the same fused
image, the same sources and the same metric code."""
import json

import cv2
import pytest


@pytest.fixture(scope='module')
def report_tool(load_tool):
    return load_tool('make_report')


def test_cached_scores_follow_their_inputs(report_tool, tno42, tmp_path,
                                           monkeypatch):
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[:64, :80], ir[:64, :80]
    for name, img in (('vi', vis), ('ir', ir), ('fused', vis // 2 + ir // 2)):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / '05.png'), img)
    pairs = {'tno42/05': (str(tmp_path / 'vi' / '05.png'),
                          str(tmp_path / 'ir' / '05.png'))}
    method = report_tool.Method('avg', folder=str(tmp_path / 'fused'))
    work = str(tmp_path / 'work')

    def score():
        return report_tool.score_methods([method], pairs, work, 1)[
            'avg']['tno42/05']['EN']

    first = score()
    cache = tmp_path / 'work' / 'metrics' / 'avg' / 'tno42' / '05.json'
    stored = json.loads(cache.read_text())
    stored['values']['EN'] = -1.0  # a marker: is the cache read?
    cache.write_text(json.dumps(stored))
    assert score() == -1.0
    # other metric code: recomputed
    monkeypatch.setattr(report_tool, 'metrics_code_digest', lambda: 'v2')
    assert score() == pytest.approx(first)
    # another source image under the same name: recomputed
    stored = json.loads(cache.read_text())
    stored['values']['EN'] = -1.0
    cache.write_text(json.dumps(stored))
    assert score() == -1.0
    cv2.imwrite(pairs['tno42/05'][1], 255 - ir)
    assert score() == pytest.approx(first)
