"""tools/score_checkpoints.py: how the shipped stage 2 was chosen."""
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')


def test_score_checkpoints_tool(tno42, tmp_path, capsys, load_tool):
    """tools/score_checkpoints.py (how the shipped stage 2 was chosen): one
    JSON line per candidate with the means over the listed pairs; the
    classic 'max' line equals evaluate_fusion on np.maximum; a missing
    checkpoint is refused by name."""
    import json
    from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
    tool = load_tool('score_checkpoints')
    split = tmp_path / 'two.txt'
    split.write_text('# two TNO pairs\ntno42/vi/08.png tno42/ir/08.png\n'
                     'tno42/vi/05.png tno42/ir/05.png\n')
    net = REPO / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    tool.main(['--split', str(split), '--data-root', str(tno42.parent),
               '--config', STAGE2_CONFIG, f'shipped={net}', 'max'])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x['name'] for x in lines] == ['shipped', 'max']
    assert all(x['pairs'] == 2 for x in lines)
    expect = []
    for k in ('08', '05'):
        v = cv2.imread(str(tno42 / 'vi' / f'{k}.png'), cv2.IMREAD_GRAYSCALE)
        i = cv2.imread(str(tno42 / 'ir' / f'{k}.png'), cv2.IMREAD_GRAYSCALE)
        values = evaluate_fusion(np.maximum(v, i), v, i,
                                 metrics=tool.METRICS + ('CC',))
        # the selection criterion by hand: the worse source's share
        values['balanced'] = min(
            (values['SSIM_V'] + values['CC_V']) / 2,
            (values['SSIM_I'] + values['CC_I']) / 2)
        expect.append(values)
    for m in tool.METRICS + tool.BALANCE:
        assert lines[1][m] == pytest.approx(
            np.mean([e[m] for e in expect]), rel=1e-9)
        assert np.isfinite(lines[0][m])
    assert lines[0]['MI'] != lines[1]['MI']
    with pytest.raises(SystemExit, match='nope.pth'):
        tool.main(['--split', str(split), '--data-root', str(tno42.parent),
                   'x=nope.pth'])
