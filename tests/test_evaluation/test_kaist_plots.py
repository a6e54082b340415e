"""Figures of a KAIST comparison (msfam_mm.visualization.kaist_plots) and the
miss-rate curves on disk (msfam_mm.evaluation.kaist.curves): the lines drawn
are the protocol's curves point for point, the legend carries MR^-2.

The constructed case (two frames, one 40x100 person each, KAIST 640x512):

* frame A (set06, day): a hit (score 0.9) and a false positive (0.8);
* frame B (set09, night): a false positive (0.7) and a hit (0.6).

Sorted by score: TP, FP, FP, TP, so over both frames FPPI = cumulative
FPs / 2 = [0, .5, 1, 1] and recall = cumulative TPs / 2 = [.5, .5, .5, 1].
Of the 9 reference FPPIs (10^-2 ... 10^0) eight see recall .5 (miss .5) and
the last (FPPI 1) recall 1 (miss 0, floored at 1e-10), so
MR^-2 = exp((8 ln .5 + ln 1e-10) / 9) = 4.18 %.
"""
import math

import numpy as np
import pytest

from msfam_mm.datasets.kaist.bbgt import BBGtObject
from msfam_mm.datasets.kaist.frame_ids import frame_to_img_id
from msfam_mm.evaluation.kaist import KAISTFrameGT, evaluate_miss_rates
from msfam_mm.evaluation.kaist.curves import (load_miss_rate_curves,
                                              save_miss_rate_curves)
from msfam_mm.visualization import (ap_bar_figure, miss_rate_figure,
                                    save_figure)

DAY, NIGHT = 'set06/V000/I00019', 'set09/V000/I00019'
PERSON = [100.0, 100.0, 40.0, 100.0]
ELSEWHERE = [400.0, 300.0, 40.0, 100.0]


def _ground_truth():
    return {
        frame_to_img_id(f): KAISTFrameGT(
            f, (640, 512), [BBGtObject('person', *PERSON)])
        for f in (DAY, NIGHT)
    }


def _protocol(dets_by_frame):
    dets = {frame_to_img_id(f): np.asarray(d, float)
            for f, d in dets_by_frame.items()}
    return evaluate_miss_rates(_ground_truth(), dets)


@pytest.fixture()
def good():
    return _protocol({DAY: [PERSON + [0.9], ELSEWHERE + [0.8]],
                      NIGHT: [ELSEWHERE + [0.7], PERSON + [0.6]]})


@pytest.fixture()
def poor():
    # day: only a false positive; night: only the hit
    return _protocol({DAY: [ELSEWHERE + [0.8]], NIGHT: [PERSON + [0.6]]})


def _lines(fig):
    """{panel title: {legend text: (x, y)}} of every drawn line."""
    return {ax.get_title(): {ln.get_label(): (ln.get_xdata(), ln.get_ydata())
                             for ln in ax.get_lines()}
            for ax in fig.axes}


def test_constructed_case_by_hand(good):
    np.testing.assert_array_equal(good['all']['fppi'], [0, .5, 1, 1])
    np.testing.assert_array_equal(good['all']['recall'], [.5, .5, .5, 1])
    expected = math.exp((8 * math.log(.5) + math.log(1e-10)) / 9)
    assert good['all']['mr'] == pytest.approx(expected)
    assert round(good['all']['mr'] * 100, 2) == 4.18


def test_curves_round_trip_exactly(good, tmp_path):
    path = tmp_path / 'curves.npz'
    save_miss_rate_curves(str(path), good)
    back = load_miss_rate_curves(str(path))
    assert set(back) == {'all', 'day', 'night'}
    for name, res in good.items():
        np.testing.assert_array_equal(back[name]['fppi'], res['fppi'])
        np.testing.assert_array_equal(back[name]['recall'], res['recall'])
        assert back[name]['mr'] == res['mr']
        assert (back[name]['num_images'], back[name]['num_gt']) == (
            res['num_images'], res['num_gt'])
    assert not [p for p in tmp_path.iterdir() if p.name != 'curves.npz']


def test_curves_file_errors_name_the_file(tmp_path, good):
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        load_miss_rate_curves(str(tmp_path / 'nope.npz'))
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='bad.npz'):
        load_miss_rate_curves(str(bad))
    other = tmp_path / 'other.npz'
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz: unexpected array"):
        load_miss_rate_curves(str(other))
    with pytest.raises(ValueError, match='subset name'):
        save_miss_rate_curves(str(tmp_path / 'x.npz'), {'a/b': good['all']})


def test_miss_rate_figure_draws_the_protocol_curves(good, poor):
    fig = miss_rate_figure({'poor': poor, 'good': good}, title='t')
    lines = _lines(fig)
    assert list(lines) == ['all: 2 frames, 2 persons',
                           'day: 1 frames, 1 persons',
                           'night: 1 frames, 1 persons']
    for ax in fig.axes:
        assert ax.get_xscale() == 'log' and ax.get_yscale() == 'log'
        assert ax.get_xlabel() == 'false positives per image (FPPI)'
        assert ax.get_ylabel() == 'miss rate'
    panel = lines['all: 2 frames, 2 persons']
    # legend: MR^-2 in %, best first (the devkit's order)
    poor_mr = math.exp(2 * math.log(.5) / 9)  # miss .5 at the last 2 refs
    assert list(panel) == ['MR$^{-2}$ 4.18% good',
                           f'MR$^{{-2}}$ {poor_mr * 100:.2f}% poor']
    x, y = panel['MR$^{-2}$ 4.18% good']
    np.testing.assert_array_equal(x, good['all']['fppi'])
    np.testing.assert_array_equal(y, 1 - good['all']['recall'])
    for subset, title in (('day', 'day: 1 frames, 1 persons'),
                          ('night', 'night: 1 frames, 1 persons')):
        for label, res in (('good', good), ('poor', poor)):
            key = [k for k in lines[title] if k.endswith(' ' + label)]
            assert len(key) == 1
            x, y = lines[title][key[0]]
            np.testing.assert_array_equal(x, res[subset]['fppi'])
            np.testing.assert_array_equal(y, 1 - res[subset]['recall'])
            assert f'{res[subset]["mr"] * 100:.2f}%' in key[0]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == list(panel)
    assert fig.get_suptitle() == 't'


def test_miss_rate_figure_without_ground_truth_says_na(good):
    empty = dict(good)
    empty['night'] = dict(mr=math.nan, fppi=np.zeros(0), recall=np.zeros(0),
                          num_images=0, num_gt=0)
    fig = miss_rate_figure({'a': empty})
    night = _lines(fig)['night: 0 frames, 0 persons']
    assert list(night) == ['MR$^{-2}$ n/a a']
    assert len(night['MR$^{-2}$ n/a a'][0]) == 0
    with pytest.raises(KeyError, match="'b' has no subset night"):
        miss_rate_figure({'b': {'all': good['all'], 'day': good['day']}})


def test_ap_bar_figure_heights_and_labels():
    rows = [dict(type='visible', AP=0.3, AP_S=0.1, AP_M=0.25, AP_L=0.5),
            dict(type='lwir', AP=0.35, AP_S=-1.0, AP_M=0.2, AP_L=None)]
    fig = ap_bar_figure(rows)
    ax = fig.axes[0]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    # one bar per (type, AP column); no value: a zero bar labelled n/a
    assert heights == [0.3, 0.1, 0.25, 0.5, 0.35, 0.0, 0.2, 0.0]
    labels = [t.get_text() for t in ax.texts]
    assert labels == ['0.300', '0.100', '0.250', '0.500',
                      '0.350', 'n/a', '0.200', 'n/a']
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        'AP', 'AP$_S$', 'AP$_M$', 'AP$_L$']
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        'visible', 'lwir']
    assert ax.get_ylabel() == 'COCO AP (fraction)'


def test_save_figure_writes_a_png(good, tmp_path):
    path = tmp_path / 'sub' / 'mr.png'
    save_figure(miss_rate_figure({'good': good}), str(path))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert [p.name for p in path.parent.iterdir()] == ['mr.png']
