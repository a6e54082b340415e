"""Distributed runs of mmengine's Runner on machines without CUDA."""
import torch
import torch.distributed as dist

__all__ = ['setup_cpu_distributed']


def setup_cpu_distributed(cfg, launcher: str) -> None:
    """Initialise a gloo process group ourselves when there is no GPU.

    mmengine 0.10.7's ``init_dist('pytorch')`` calls
    ``torch.cuda.set_device`` unconditionally, which fails without CUDA, and
    its DDP wrapper passes ``device_ids=[local_rank]``, which DDP refuses for
    CPU modules. The Runner skips ``init_dist`` when a process group exists,
    so this creates one (gloo, from torchrun's environment) and sets
    ``cfg.model_wrapper_cfg.device_ids=None``. Nothing happens for
    ``launcher='none'`` or when CUDA is available.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
