"""msfam_mm.engine.distributed: BatchNorm statistics averaged across gloo
processes."""
import os
import os.path as osp

import pytest
import torch

import msfam_mm  # noqa: F401  (registers everything)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def _average_bn_worker(rank, port, out_dir):
    import torch.distributed as dist
    from msfam_mm.engine import average_bn_statistics_across_processes
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    try:
        model = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
        with torch.no_grad():
            model[0].running_mean.fill_(float(rank))
            model[0].running_var.fill_(1.0 + 2.0 * rank)
        n = average_bn_statistics_across_processes(model)
        torch.save(dict(n=n, mean=model[0].running_mean,
                        var=model[0].running_var),
                   osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_precise_bn_statistics_agree_across_processes(tmp_path):
    """Two gloo processes with different statistics end with their mean
    (mmengine's wrapper does not broadcast buffers; PreciseBNHook averages
    them so all processes validate and save the same)."""
    import torch.multiprocessing as mp
    from msfam_mm.engine import average_bn_statistics_across_processes
    assert average_bn_statistics_across_processes(
        torch.nn.BatchNorm2d(3)) == 0  # single process: nothing to do
    port = 29500 + (os.getpid() + 500) % 1000
    mp.spawn(_average_bn_worker, args=(port, str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        got = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        assert got['n'] == 1
        assert torch.allclose(got['mean'], torch.full((3, ), 0.5))
        assert torch.allclose(got['var'], torch.full((3, ), 2.0))
