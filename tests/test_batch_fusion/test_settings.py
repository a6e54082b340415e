"""msfam_mm.batch_fusion.settings: the identity settings of a fused set,
checked with build_fuser's own check (msfam_mm.apis.check_fuser_arguments)
and named in the library's words."""
import pytest

from msfam_mm.apis import check_fuser_arguments
from msfam_mm.batch_fusion import ArgumentError, fusion_settings
from msfam_mm.batch_fusion.settings import (IDENTITY_KEYS, describe_conflict,
                                            settings_conflict)


def test_classic_method_settings():
    s = fusion_settings('laplacian', ext='.JPG', jpeg_quality=90,
                        method_options={'levels': 5},
                        inputs={'vis_dir': '/a'})
    assert (s['method'], s['ext'], s['jpeg_quality']) == ('laplacian', 'jpg',
                                                          90)
    # classic methods clip by default, learned ones stretch (Section 4.1)
    assert s['normalize'] == 'clip' and s['method_options'] == {'levels': 5}
    assert s['config'] is None and s['checkpoint_sha256'] is None
    # the JPEG quality is no setting of a PNG set
    assert fusion_settings('max')['jpeg_quality'] is None
    assert set(IDENTITY_KEYS) <= set(s)


def test_errors_name_values_not_flags():
    with pytest.raises(ValueError, match=r"^precision must be one of "
                                         r"\('fp32', 'bf16', 'fp16'\), "
                                         r"got 'fp8'$"):
        fusion_settings('average', precision='fp8')
    with pytest.raises(ArgumentError, match=r"^ext must be 'png' or 'jpg', "
                                            r"got 'gif'$") as e:
        fusion_settings('average', ext='gif')
    assert e.value.render({'ext': '--ext'}).startswith('--ext must be')
    for bad in (101, -1, True, 9.5):
        with pytest.raises(ArgumentError, match=r'^jpeg_quality must be an '
                                                r'integer in 0\.\.100'):
            fusion_settings('average', ext='jpg', jpeg_quality=bad)
    with pytest.raises(ValueError, match=r"^normalize must be one of "):
        fusion_settings('average', normalize='stretch')
    with pytest.raises(ValueError, match="has no option 'nope'"):
        fusion_settings('average', method_options={'nope': 1})


def test_one_check_for_building_and_recording():
    """fusion_settings refuses exactly what build_fuser refuses: both go
    through check_fuser_arguments."""
    for method, kwargs, error in (
            ('nestfuse', {}, 'needs both a config and a checkpoint'),
            ('average', dict(config='configs/msfam_stage2.py'),
             'needs no config or checkpoint'),
            ('msfam', dict(checkpoint='/no/such.pth'),
             "checkpoint file '/no/such.pth' does not exist")):
        with pytest.raises((ValueError, FileNotFoundError), match=error):
            check_fuser_arguments(method, **kwargs)
        with pytest.raises((ValueError, FileNotFoundError), match=error):
            fusion_settings(method, **kwargs)


def test_conflicts_list_the_differing_identity_keys():
    old = fusion_settings('max', color=True)
    new = fusion_settings('average')
    diff = settings_conflict(old, new)
    assert diff == ['method', 'color']
    assert describe_conflict(old, new, diff) == \
        "method: 'max' -> 'average', color: True -> False"
    assert settings_conflict(old, fusion_settings('max', color=True)) == []
