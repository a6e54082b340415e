"""tools/loss_gradients.py: the gradient of each Eq. 2 term on the fused
image (docs/training.md), on the shipped weights."""
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')


def test_loss_gradients_tool_on_shipped_weights(tno42, tmp_path, capsys,
                                                load_tool):
    """tools/loss_gradients.py (the gradient figures of docs/training.md):
    one entry per term of Eq. 2, finite and non-zero, the same whether the
    network comes as a bare state dict or inside a training checkpoint;
    the L1 gradient obeys its analytic bound; a crop outside the image is
    refused with the file named."""
    import json
    tool = load_tool('loss_gradients')
    net = REPO / 'checkpoints' / 'msfam_cpu_stage2_fp16.pth'
    cls = REPO / 'checkpoints' / 'msfam_cpu_classifier_fp16.pth'
    vis, ir = str(tno42 / 'vi' / '05.png'), str(tno42 / 'ir' / '05.png')
    argv = ['--config', STAGE2_CONFIG, '--classifier', str(cls), '--vis', vis,
            '--ir', ir, '--crop', '90', '76', '48', '64', '--margin', '4']

    def run(net_path):
        tool.main(['--net', str(net_path)] + argv)
        return json.loads(capsys.readouterr().out)['terms']

    terms = run(net)
    assert set(terms) == {'loss_l1', 'loss_constraint', 'loss_pull_push'}
    for t in terms.values():
        assert 0 < t['mean_abs_grad'] < float('inf')
    # d/dF of (mean|F-V| + mean|F-I|)/2 is 0, +-1/(2N) or +-1/N per pixel
    assert terms['loss_l1']['mean_abs_grad'] <= 1 / (48 * 64) + 1e-12
    assert terms['loss_pull_push']['relative_to_pull_push'] == 1.0
    wrapped = tmp_path / 'iter_1.pth'
    state = torch.load(net, weights_only=True)
    torch.save({'state_dict': {f'net.{k}': v for k, v in state.items()}},
               wrapped)
    again = run(wrapped)
    for name, t in terms.items():
        assert again[name]['mean_abs_grad'] == pytest.approx(
            t['mean_abs_grad'], rel=1e-6)
    with pytest.raises(SystemExit, match='05.png'):
        tool.main(['--net', str(net), '--config', STAGE2_CONFIG,
                   '--classifier', str(cls), '--vis', vis, '--ir', ir,
                   '--crop', '400', '0', '128', '128'])
