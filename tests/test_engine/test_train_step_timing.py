"""engine.train_step_timing: the step times tools/train_all.py plans with
(and benchmark.py --train-step reports), from a bare interpreter state."""
import pytest

from msfam_mm.engine.train_step_timing import (parse_train_variant,
                                               time_stage)


def test_variants_are_parsed_and_checked():
    assert parse_train_variant('compile:bf16') == dict(
        name='compile:bf16', compile=True, precision='bf16')
    for bad in ('compile', 'jit:bf16', 'eager:int8'):
        with pytest.raises(ValueError, match=repr(bad)):
            parse_train_variant(bad)


def test_time_stage_builds_in_its_own_scope(repo_root):
    """No default scope is set (tests/conftest.py resets it): the timing
    builds the config's model in msfam_mm's scope itself."""
    out = time_stage(str(repo_root / 'configs' / 'msfam_constraint.py'),
                     ['eager:fp32', 'eager:bf16'], 3, 32, 32, warmup=0,
                     repeats=1)
    assert list(out) == ['eager:fp32', 'eager:bf16']
    ref, bf16 = out['eager:fp32'], out['eager:bf16']
    assert ref['finite'] and bf16['finite']
    assert len(ref['step_s_all']) == 1
    # one batch of visible, infrared and fused labels: a BCE near log 2
    # for an untrained classifier
    assert 0.3 < ref['first_loss'] < 1.5
    assert bf16['grad_cosine_vs_eager:fp32'] > 0.99


def test_profile_names_the_operators_of_a_step(repo_root):
    out = time_stage(str(repo_root / 'configs' / 'msfam_stage1.py'),
                     ['eager:fp32'], 2, 32, 32, warmup=0, repeats=1,
                     profile=True)
    prof = out['eager:fp32']['profile']
    ops = prof['top_ops']
    assert len(ops) == 8 and prof['self_cpu_s'] > 0
    shares = [op['share'] for op in ops]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1.0
    # a network of convolutions: they are among its heaviest operators
    assert any('conv' in op['name'] for op in ops[:3])
