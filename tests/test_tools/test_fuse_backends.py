"""The fusing tools with --backend: records, refusal of mixed backends,
outputs within one grey level of PyTorch, auto's choice printed."""
import json

import cv2
import numpy as np
import pytest
import torch

from msfam_mm.apis.model_loading import build_msfam_net

pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    """A narrow random MSFAM (config + checkpoint): fast on real sizes."""
    root = tmp_path_factory.mktemp('tiny')
    cfg = root / 'tiny.py'
    cfg.write_text("model = dict(type='MSFAMFusion', net=dict("
                   "type='MSFAMNet', stem_channels=4, widths=(8, 8, 8, 8)))\n")
    torch.manual_seed(0)
    net = build_msfam_net(str(cfg))
    ckpt = root / 'tiny.pth'
    torch.save({f'net.{k}': v for k, v in net.state_dict().items()}, ckpt)
    return cfg, ckpt


@pytest.fixture(scope='module')
def pairs(tno42, tmp_path_factory):
    """Three real TNO pairs, one of them an odd-sized crop."""
    root = tmp_path_factory.mktemp('pairs')
    for band in ('vi', 'ir'):
        (root / band).mkdir()
        for name in ('05', '17'):
            img = cv2.imread(str(tno42 / band / f'{name}.png'), 0)
            cv2.imwrite(str(root / band / f'{name}.png'), img)
        img = cv2.imread(str(tno42 / band / '01.png'), 0)[:201, :333]
        cv2.imwrite(str(root / band / 'crop01.png'), img)
    return root


def _fuse(load_tool, pairs, out, model, *extra):
    cfg, ckpt = model
    return load_tool('fuse').main(
        ['--vis', str(pairs / 'vi'), '--ir', str(pairs / 'ir'),
         '--out', str(out), '--method', 'msfam', '--config', str(cfg),
         '--checkpoint', str(ckpt), '--no-progress', *extra])


def test_backends_agree_and_are_recorded(load_tool, pairs, tiny_model,
                                         tmp_path, capsys):
    assert _fuse(load_tool, pairs, tmp_path / 'torch', tiny_model,
                 '--backend', 'torch') == 0
    assert _fuse(load_tool, pairs, tmp_path / 'ort', tiny_model,
                 '--backend', 'onnxruntime') == 0
    assert '(msfam on onnxruntime fp32)' in capsys.readouterr().err
    manifest = json.loads((tmp_path / 'ort' / 'manifest.json').read_text())
    assert (manifest['settings']['backend'],
            manifest['settings']['precision']) == ('onnxruntime', 'fp32')
    for name in ('05', '17', 'crop01'):
        a = cv2.imread(str(tmp_path / 'torch' / f'{name}.png'), 0)
        b = cv2.imread(str(tmp_path / 'ort' / f'{name}.png'), 0)
        assert a.shape == b.shape
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, name


def test_another_backend_into_the_same_output_is_refused(load_tool, pairs,
                                                         tiny_model,
                                                         tmp_path, capsys):
    out = tmp_path / 'out'
    assert _fuse(load_tool, pairs, out, tiny_model,
                 '--backend', 'onnxruntime') == 0
    capsys.readouterr()
    assert _fuse(load_tool, pairs, out, tiny_model, '--backend', 'torch') == 2
    err = capsys.readouterr().err
    assert "backend: 'onnxruntime' -> 'torch'" in err
    # the same settings resume: nothing to do
    assert _fuse(load_tool, pairs, out, tiny_model,
                 '--backend', 'onnxruntime') == 0
    assert '0 fused, 3 already done' in capsys.readouterr().err


def test_auto_prints_what_it_chose(load_tool, pairs, tiny_model, tmp_path,
                                   capsys):
    from msfam_mm.apis import MSFAMFuser
    backend, precision = MSFAMFuser.resolve_execution('auto', 'auto', 'cpu')
    assert _fuse(load_tool, pairs, tmp_path / 'auto', tiny_model) == 0
    assert f'(msfam on {backend} {precision})' in capsys.readouterr().err


def test_records_without_a_backend_are_torch_runs():
    """Output folders fused before backends existed resume under torch."""
    from msfam_mm.batch_fusion.settings import settings_conflict
    old = dict(method='msfam', precision='fp32')
    assert settings_conflict(old, dict(old, backend='torch')) == []
    assert settings_conflict(old, dict(old, backend='openvino')) == \
        ['backend']
