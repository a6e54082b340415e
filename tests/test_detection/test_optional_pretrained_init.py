"""OptionalPretrainedInit and resolve_checkpoint: ImageNet weights from a file
or the hub cache, offline, and training from scratch when asked."""
import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402

from msfam_mm.detection import (  # noqa: E402
    OptionalPretrainedInit, resolve_checkpoint)

# configs use default_scope='mmdet'; outside a Runner set it explicitly
pytestmark = pytest.mark.usefixtures('mmdet_scope')


# ------------------------------------------------ optional ImageNet weights
def small_resnet():
    return MODELS.build(
        dict(type='ResNet', depth=18, frozen_stages=1, norm_eval=True,
             init_cfg=[dict(type='Kaiming', layer='Conv2d')]))


def test_resolve_checkpoint_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    path, reason = resolve_checkpoint('torchvision://resnet50')
    assert path is None
    assert 'resnet50-0676ba61.pth' in reason
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        resolve_checkpoint(str(tmp_path / 'nope.pth'))


def test_pretrained_loaded_from_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    torch.manual_seed(1)
    source = small_resnet()
    source.init_weights()
    cache = tmp_path / 'checkpoints'
    cache.mkdir()
    state = {k: v for k, v in source.state_dict().items()}
    state['fc.weight'] = torch.zeros(10, 512)  # torchvision extra key
    torch.save(state, cache / 'resnet18-f37072fd.pth')

    target = small_resnet()
    init = OptionalPretrainedInit(checkpoint='torchvision://resnet18')
    init(target)
    assert init.loaded_from == str(cache / 'resnet18-f37072fd.pth')
    for (name, a), b in zip(source.state_dict().items(),
                            target.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    assert target.frozen_stages == 1 and target.norm_eval  # untouched


def test_missing_pretrained_trains_from_scratch(tmp_path, monkeypatch,
                                                capsys):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    model = MODELS.build(
        dict(type='ResNet', depth=18, frozen_stages=1, norm_eval=True,
             init_cfg=[
                 dict(type='Kaiming', layer='Conv2d'),
                 dict(type='PretrainedIfAvailable',
                      checkpoint='torchvision://resnet18')
             ]))
    assert not model.conv1.weight.requires_grad  # frozen stem
    before = model.conv1.weight.detach().clone()
    model.init_weights()
    assert not torch.equal(before, model.conv1.weight)  # Kaiming ran
    assert model.frozen_stages == -1 and not model.norm_eval
    assert all(p.requires_grad for p in model.parameters())
    model.train()
    assert model.bn1.training  # BN statistics update from scratch
