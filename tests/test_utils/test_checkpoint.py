"""The checks every weights loader shares (msfam_mm.utils.checkpoint)."""
import pytest
import torch
from torch import nn

from msfam_mm.apis.model_loading import load_net_weights
from msfam_mm.utils import (load_checked_state_dict, load_model_weights,
                            load_submodule_weights)


class _TwoParts(nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.net = nn.Conv2d(1, width, 3)
        self.head = nn.BatchNorm2d(width)


def test_shape_mismatch_names_file_key_and_both_shapes(tmp_path):
    path = tmp_path / 'wide.pth'
    torch.save(_TwoParts(width=4).state_dict(), path)
    with pytest.raises(RuntimeError,
                       match=r"wide\.pth.*net\.weight has shape \(4, 1, 3, "
                             r"3\), _TwoParts expects \(3, 1, 3, 3\)"):
        load_model_weights(_TwoParts(), path)
    # the submodule loader goes through the same check
    torch.save(dict(state_dict={f'm.{k}': v for k, v in
                                _TwoParts(width=4).state_dict().items()}),
               path)
    with pytest.raises(RuntimeError, match=r'wide\.pth.*has shape'):
        load_submodule_weights(_TwoParts(), path, src_prefix='m.')


def test_nothing_is_loaded_when_a_check_fails(tmp_path):
    model = _TwoParts()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: torch.full_like(v, 7) for k, v in model.state_dict().items()}
    state['net.weight'] = torch.zeros(5, 1, 3, 3)
    with pytest.raises(RuntimeError):
        load_checked_state_dict(model, state, tmp_path / 'x.pth')
    with pytest.raises(KeyError, match=r"x\.pth.*missing \['head\.bias'\] "
                                       r"\(1\).*check me"):
        load_checked_state_dict(model, state, tmp_path / 'x.pth',
                                missing=['head.bias'], hint='; check me')
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_fp16_weights_load_into_fp32_and_extra_keys_are_ignored(tmp_path):
    src = _TwoParts()
    nn.init.normal_(src.net.weight)
    state = {k: v.half() if v.is_floating_point() else v
             for k, v in src.state_dict().items()}
    state['not_in_model'] = torch.ones(2)
    model = _TwoParts()
    load_checked_state_dict(model, state, 'half.pth')
    assert model.net.weight.dtype == torch.float32
    assert torch.equal(model.net.weight, src.net.weight.half().float())


def test_net_loader_reports_missing_and_unexpected_together(tmp_path):
    """load_net_weights names the file and what to check."""
    path = tmp_path / 'other.pth'
    state = _TwoParts().net.state_dict()
    state['extra.weight'] = torch.ones(1)
    del state['bias']
    torch.save(state, path)
    with pytest.raises(KeyError, match=r"other\.pth.*missing \['bias'\].*"
                                       r"unexpected \['extra\.weight'\].*"
                                       r"checkpoint of this config"):
        load_net_weights(_TwoParts().net, path)


def test_a_file_that_is_no_checkpoint_is_named(tmp_path):
    """torch.load of a text file raises a bare KeyError (e.g. 101); the
    loader says which file it could not load."""
    from msfam_mm.utils import load_checkpoint_safe
    text = tmp_path / 'notes.pth'
    text.write_text('exported weights? no, notes\n')
    with pytest.raises(RuntimeError, match=r'cannot load checkpoint .*'
                                           r'notes\.pth'):
        load_checkpoint_safe(text)


class _NotATensor:
    """A class a checkpoint must not make the loader import and build."""


def test_a_checkpoint_with_pickled_objects_is_refused_in_one_line(tmp_path):
    from msfam_mm.apis import build_fuser
    path = tmp_path / 'objects.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'extra': _NotATensor()},
               path)
    with pytest.raises(RuntimeError) as info:
        build_fuser('msfam', checkpoint=str(path), backend='torch')
    message = str(info.value)
    assert message.startswith(f"checkpoint '{path}' holds more than tensors")
    assert '_NotATensor' in message and '\n' not in message
    assert 'add_safe_globals' not in message
