"""msfam_mm.evaluation.fusion_metrics.folder_scores: pairing folders of
fused images with their sources and scoring them (behind
tools/eval_fusion.py and the report), on real TNO images."""
import os

import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
from msfam_mm.evaluation.fusion_metrics.folder_scores import (
    ScoreTask, ScoringError, pair_folders, read_image_rgb, score_task,
    score_tasks)


@pytest.fixture()
def folders(tmp_path, tno42, tno42_fusions):
    """TNO pairs 01, 05, 10 (symlinks) and DenseFuse's fusions of 01 and
    05 only."""
    for sub in ('vi', 'ir', 'DenseFuse'):
        (tmp_path / sub).mkdir()
    for s in ('01', '05', '10'):
        for sub in ('vi', 'ir'):
            os.symlink(tno42 / sub / f'{s}.png', tmp_path / sub / f'{s}.png')
    for s in ('01', '05'):
        os.symlink(tno42_fusions / 'DenseFuse' / f'{s}.png',
                   tmp_path / 'DenseFuse' / f'{s}.png')
    return tmp_path


def test_pairs_by_stem_and_names_the_missing(folders):
    tasks, missing = pair_folders(folders / 'vi', folders / 'ir',
                                  [('DenseFuse', folders / 'DenseFuse')],
                                  ['EN'], 'standard')
    assert [(t.method, t.stem) for t in tasks] == [('DenseFuse', '01'),
                                                   ('DenseFuse', '05')]
    assert tasks[0].fused == folders / 'DenseFuse' / '01.png'
    assert tasks[0].vis == folders / 'vi' / '01.png'
    assert missing == {'DenseFuse': ['10']}
    # a fused image without a source pair, and unpaired sources
    os.symlink(folders / 'vi' / '01.png', folders / 'DenseFuse' / '99.png')
    with pytest.raises(ScoringError, match=r"without a source pair: \['99'\]"):
        pair_folders(folders / 'vi', folders / 'ir',
                     [('DenseFuse', folders / 'DenseFuse')], ['EN'],
                     'standard')
    (folders / 'ir' / '10.png').unlink()
    with pytest.raises(ScoringError, match=r"do not pair up: only in .*vi: "
                                           r"\['10'\]"):
        pair_folders(folders / 'vi', folders / 'ir', [], ['EN'], 'standard')


def test_scores_equal_the_library_on_the_same_files(folders):
    tasks, _ = pair_folders(folders / 'vi', folders / 'ir',
                            [('DenseFuse', folders / 'DenseFuse')],
                            ['EN', 'CC'], 'standard')
    results, errors = score_tasks(tasks, workers=1, progress=False)
    assert errors == []
    method, stem, values = results[0]
    ref = evaluate_fusion(read_image_rgb(folders / 'DenseFuse' / '01.png'),
                          read_image_rgb(folders / 'vi' / '01.png'),
                          read_image_rgb(folders / 'ir' / '01.png'),
                          metrics=['EN', 'CC'])
    assert (method, stem) == ('DenseFuse', '01') and values == ref


def test_score_task_raises_naming_the_files(folders):
    """The report scores through ``score_task``: it raises ScoringError
    (never a partial result) naming the method, the stem and the files."""
    bad = folders / 'DenseFuse' / '01.png'
    bad.unlink()
    cv2.imwrite(str(bad), np.zeros((20, 30), np.uint8))
    task = ScoreTask('DenseFuse', '01', bad, folders / 'vi' / '01.png',
                     folders / 'ir' / '01.png', ('EN', ), 'standard')
    with pytest.raises(ScoringError, match='size mismatch') as info:
        score_task(task)
    assert str(bad) in str(info.value) and "'01'" in str(info.value)
    # the report's tasks carry no method/stem: the files alone are named
    with pytest.raises(ScoringError, match=r'^cannot score fused '):
        score_task(task._replace(method='', stem=''))
    # score_tasks reports it instead of raising, and scores the rest
    results, errors = score_tasks([task, task._replace(
        stem='05', fused=folders / 'DenseFuse' / '05.png',
        vis=folders / 'vi' / '05.png', ir=folders / 'ir' / '05.png')],
        progress=False)
    assert [r[1] for r in results] == ['05'] and len(errors) == 1
