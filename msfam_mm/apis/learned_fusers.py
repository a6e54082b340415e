"""Fusers built on the MSFAM network: the learned ``'msfam'`` method and
the ``'nestfuse'`` reconstruction-training baseline.

* ``'msfam'`` (Section 3, inference as in Section 4.1): the stage-2 network
  without the Semantic Constraint module, ``decode(fuse(encode(vis),
  encode(ir)))``, output min-max normalised to 0-255.
* ``'nestfuse'`` (Section 4.2.1, Table 1 row "Rec"): the stage-1
  auto-encoder (encoder + decoder only) with NestFuse's hand-designed
  attention fusion strategy (Li et al., IEEE TIM 2020, Section III-B) at
  each of the four scales in place of the learned fusion blocks.

Example:
    >>> from msfam_mm.apis import build_fuser
    >>> fuser = build_fuser('msfam', config='configs/msfam_stage2.py',
    ...                     checkpoint='msfam.pth')      # doctest: +SKIP
    >>> fused = fuser('vis.png', 'ir.png')               # doctest: +SKIP
"""
import os
from typing import Dict, Optional, Union

import numpy as np
import torch
from torch import nn

from ..deploy.onnx_export import (cached_fusion_onnx, export_fusion_onnx,
                                  is_onnx_model, pad_for_graph,
                                  read_fusion_onnx_metadata)
from ..deploy.runtimes import build_runner
from ..deploy.tiling import DEFAULT_OVERLAP, auto_tile_size, fuse_tiled
from ..models.networks.nestfuse_strategy import (NestFuseStrategyNet,
                                                 nestfuse_attention_fusion,
                                                 nestfuse_channel_fusion,
                                                 nestfuse_spatial_fusion)
from ..registry import FUSERS
from .base_fuser import BaseFuser
from .model_loading import (DEFAULT_MSFAM_CHECKPOINT, DEFAULT_MSFAM_CONFIG,
                            ConfigLike, file_sha256, load_msfam_net)

__all__ = ['MSFAMFuser', 'NestFuseStrategyFuser', 'nestfuse_attention_fusion',
           'nestfuse_spatial_fusion', 'nestfuse_channel_fusion']


class _FullPrecision(nn.Module):
    """Runs the wrapped module in fp32 even under autocast."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x):
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.module(x.float())


class _NetFuser(BaseFuser):
    """Shared part of the fusers that run a fusion network.

    The network runs on the PyTorch module (``backend='torch'``) or as the
    ONNX graph of its ``fuse_padded`` (``msfam_mm.deploy``) on ONNX Runtime
    or OpenVINO; the graph is exported in memory from the checkpoint, or
    read from an ``.onnx`` file given as ``checkpoint`` (then ``config`` is
    not used and the file's method and options must match).
    """

    requires_model = True
    default_normalize = 'minmax'
    supported_backends = ('torch', 'onnxruntime', 'openvino')
    _with_fusion: Optional[bool] = None
    _required_prefixes = ('',)

    def __init__(self, config: ConfigLike, checkpoint: str,
                 channels_last: Optional[bool] = None,
                 compile: bool = False, threads: Optional[int] = None,
                 tile_size: Optional[int] = None,
                 tile_overlap: int = DEFAULT_OVERLAP, **kwargs) -> None:
        super().__init__(**kwargs)
        if tile_size is not None and (int(tile_size) < 0 or (
                0 < int(tile_size) <= 2 * int(tile_overlap))):
            raise ValueError(f'tile_size must be 0 (never tile), None (from '
                             f'the memory budget) or more than twice '
                             f'tile_overlap ({tile_overlap}), got {tile_size}')
        self.tile_size = None if tile_size is None else int(tile_size)
        self.tile_overlap = int(tile_overlap)
        if config is None and not is_onnx_model(checkpoint):
            raise ValueError(f'{type(self).__name__} needs a config '
                             '(e.g. configs/msfam_stage2.py)')
        self.checkpoint = os.fspath(checkpoint) if checkpoint else checkpoint
        self._sha256: Optional[str] = None
        self.channels_last_on = False
        self.compile = bool(compile)
        if self.compile and self.backend != 'torch':
            raise ValueError(f'compile=True is for the torch backend, not '
                             f'{self.backend!r} (which compiles itself)')
        if is_onnx_model(checkpoint):
            if self.backend == 'torch':
                raise ValueError(
                    f'{self.checkpoint}: an exported ONNX graph runs on the '
                    "onnxruntime or openvino backend, not 'torch'; pass a "
                    'PyTorch checkpoint for the torch backend')
            self.config = None
            self.source_sha256 = self._check_onnx(self.checkpoint)
            model_source: Union[str, bytes] = self.checkpoint
            self.net = None
        else:
            self.config = config
            module = self.build_module(load_msfam_net(
                config, checkpoint, self._with_fusion,
                self._required_prefixes))
            for p in module.parameters():
                p.requires_grad_(False)
            if self.backend == 'torch':
                self._setup_torch(module, channels_last)
            else:
                self.source_sha256 = self.checkpoint_sha256()
                model_source = cached_fusion_onnx(
                    module, method=self.graph_method,
                    weights_sha256=self.source_sha256,
                    options=self.graph_options())
                self.net = None
        self.channels_last = bool(self.backend == 'torch'
                                  and self.channels_last_on)
        self.runner = None if self.backend == 'torch' else build_runner(
            self.backend, model_source, self.precision, threads)

    # -------------------------------------------------- what subclasses set
    #: the ``method`` recorded in (and required of) exported graphs
    graph_method = ''

    def build_module(self, net: nn.Module) -> nn.Module:
        """The fusion module (with ``forward`` and ``fuse_padded``) run on
        the loaded network."""
        return net

    def graph_options(self) -> Dict:
        """Method options baked into the exported graph."""
        return {}

    # --------------------------------------------------------------- torch
    def _setup_torch(self, module: nn.Module,
                     channels_last: Optional[bool]) -> None:
        self.net = module.to(self.device)
        # channels-last helps cuDNN's fp16/bf16 kernels; on CPU it is off by
        # default (see docs/inference.md for the measurement)
        if channels_last is None:
            channels_last = self.device.type == 'cuda'
        self.channels_last_on = bool(channels_last)
        if self.channels_last_on:
            self.net = self.net.to(memory_format=torch.channels_last)
        # The output is min-max stretched (Section 4.1): a random or weakly
        # contrasted output spans a small value range that bf16/fp16 rounding
        # of the last layer's result would turn into a few visible grey
        # levels. The 1x1 output conv costs nothing, so it stays in fp32.
        out_conv = getattr(self.net.decoder, 'out_conv', None)
        if self.precision != 'fp32' and isinstance(out_conv, nn.Module):
            self.net.decoder.out_conv = _FullPrecision(out_conv)
        self._forward = torch.compile(self.net) if self.compile \
            else self.net

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) \
            if self.channels_last else x

    # --------------------------------------------------------------- graphs
    def _check_onnx(self, path: str) -> str:
        """Refuse a graph of another method or other options; return the
        sha256 of the weights it was exported from."""
        meta = read_fusion_onnx_metadata(path)
        if meta['method'] != self.graph_method:
            raise ValueError(
                f'{path}: exported for fusion method {meta["method"]!r}, '
                f'not {self.graph_method!r}')
        if meta['options'] != self.graph_options():
            raise ValueError(
                f'{path}: exported with options {meta["options"]}, but this '
                f'fuser was asked for {self.graph_options()}; export again')
        return meta['weights_sha256']

    def _run_graph(self, vis: torch.Tensor, ir: torch.Tensor
                   ) -> torch.Tensor:
        h, w = vis.shape[-2:]
        pv, pi = pad_for_graph(vis.float(), ir.float())
        out = self.runner(np.ascontiguousarray(pv.cpu().numpy()),
                          np.ascontiguousarray(pi.cpu().numpy()))
        return torch.from_numpy(out)[..., :h, :w]

    def _fuse_whole(self, vis: torch.Tensor, ir: torch.Tensor
                    ) -> torch.Tensor:
        if self.backend != 'torch':
            return self._run_graph(vis, ir)
        return self._forward(self._input(vis), self._input(ir))

    def tile_for(self, batch: int) -> int:
        """Tile side for a batch of ``batch`` pairs (0: do not tile)."""
        if self.tile_size is not None:
            return self.tile_size
        if self.device.type != 'cpu':
            return 0  # GPU memory is the user's to size (--batch-size)
        budget_side = auto_tile_size(self.backend, self.precision)
        return max(int(budget_side / batch ** 0.5) // 8 * 8,
                   2 * self.tile_overlap + 8)

    def fuse_tensor(self, vis, ir):
        tile = self.tile_for(vis.shape[0])
        if tile and max(vis.shape[-2:]) > tile:
            return fuse_tiled(self._fuse_whole, vis, ir, tile,
                              self.tile_overlap)
        return self._fuse_whole(vis, ir)

    def export_onnx(self, out: Union[str, os.PathLike],
                    example_size=(64, 80)) -> Dict:
        """Write this fuser's network as an ONNX graph (dynamic batch,
        height and width; contract and source weights in its metadata;
        written atomically). Needs the torch backend.

        Raises:
            ValueError: the output path is the checkpoint itself, or the
                fuser runs an already exported graph.
        """
        if self.net is None:
            raise ValueError(f'export_onnx: this fuser runs the exported '
                             f'graph {self.checkpoint}; build it with '
                             "backend='torch' from a PyTorch checkpoint")
        if os.path.exists(out) and self.checkpoint and \
                os.path.samefile(out, self.checkpoint):
            raise ValueError(f'export_onnx: output {os.fspath(out)!r} is the '
                             'input checkpoint; choose another path')
        module = self.net
        if self.precision != 'fp32':
            raise ValueError('export_onnx: build the fuser with precision '
                             "'fp32' (graphs are exported in fp32; the "
                             'runtime chooses its own precision)')
        return export_fusion_onnx(module, out, method=self.graph_method,
                                  weights_sha256=self.checkpoint_sha256(),
                                  options=self.graph_options(),
                                  example_size=example_size)

    # ------------------------------------------------------------ records
    def checkpoint_sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.checkpoint)
        return self._sha256

    def describe(self):
        config = self.config if self.config is None or isinstance(
            self.config, (str, os.PathLike)) else 'in-memory config'
        info = dict(super().describe(),
                    config=None if config is None else os.fspath(config),
                    checkpoint=self.checkpoint,
                    checkpoint_sha256=self.checkpoint_sha256(),
                    channels_last=self.channels_last)
        if self.backend != 'torch':
            info['weights_sha256'] = self.source_sha256
        if self.compile:
            info['compile'] = True
        if self.tile_size is not None:
            info['tile_size'] = self.tile_size
        return info


@FUSERS.register_module(name='msfam')
class MSFAMFuser(_NetFuser):
    """The learned MSFAM fusion (``'msfam'``): stage-2 MSFAMNet forward.

    Args:
        config: stage-2 config or a config whose model is an ``MSFAMNet``;
            ``None`` = ``configs/msfam_stage2.py``.
        checkpoint: mmengine checkpoint of that config, a bare ``MSFAMNet``
            state dict (fp32 or fp16), or an ``.onnx`` graph exported by
            ``tools/export_onnx.py`` (onnxruntime/openvino backends; the
            config is then not used); ``None`` = the shipped weights
            ``checkpoints/msfam_cpu_stage2_fp16.pth`` (checkpoints/README.md).
        channels_last (bool, optional): torch backend: run in channels-last
            memory format; ``None`` = on for CUDA, off for CPU.
        compile (bool): torch backend: run the network through
            ``torch.compile`` (slow first call, faster after).
        threads (int, optional): onnxruntime/openvino: inference threads.
        tile_size (int, optional): fuse larger images in tiles of this
            side; ``None`` = from the memory budget
            (:func:`msfam_mm.deploy.auto_tile_size`), ``0`` = never tile.
        tile_overlap (int): overlap of neighbouring tiles on each side.
        **kwargs: ``color``, ``normalize`` (default ``'minmax'``, Section
            4.1), ``device``, ``backend``, ``precision``; see
            :class:`BaseFuser`.
    """

    _with_fusion = True
    has_default_weights = True
    graph_method = 'msfam'

    def __init__(self, config: Optional[ConfigLike] = None,
                 checkpoint: Optional[str] = None, **kwargs) -> None:
        if checkpoint is None:
            if not os.path.isfile(DEFAULT_MSFAM_CHECKPOINT):
                raise FileNotFoundError(
                    'MSFAMFuser: no checkpoint given and the shipped weights '
                    f'{DEFAULT_MSFAM_CHECKPOINT} are missing (they live in '
                    'the source checkout; pass a checkpoint)')
            checkpoint = DEFAULT_MSFAM_CHECKPOINT
        if config is None and not is_onnx_model(checkpoint):
            config = DEFAULT_MSFAM_CONFIG
        super().__init__(config, checkpoint, **kwargs)


@FUSERS.register_module(name=['nestfuse', 'nestfuse_strategy'])
class NestFuseStrategyFuser(_NetFuser):
    """Stage-1 MSFAM auto-encoder + NestFuse's hand-designed fusion
    strategy (``'nestfuse'``; the paper's "Rec" row of Table 1).

    Args:
        config: stage-1 (or stage-2) config; only the encoder and decoder
            are built and loaded.
        checkpoint: stage-1 (or stage-2) checkpoint, or an ``.onnx`` graph
            exported from one.
        spatial_mode (str): ``'softmax'`` (NestFuse's released code,
            default) or ``'l1_ratio'`` (NestFuse paper's equation); see
            :func:`~msfam_mm.models.networks.nestfuse_spatial_fusion`.
        **kwargs: see :class:`MSFAMFuser`.
    """

    _with_fusion = False
    _required_prefixes = ('encoder.', 'decoder.')
    graph_method = 'nestfuse'

    def __init__(self, config, checkpoint, spatial_mode: str = 'softmax',
                 **kwargs) -> None:
        if spatial_mode not in ('softmax', 'l1_ratio'):
            raise ValueError(f"NestFuseStrategyFuser: spatial_mode must be "
                             f"'softmax' or 'l1_ratio', got {spatial_mode!r}")
        self.spatial_mode = spatial_mode
        super().__init__(config, checkpoint, **kwargs)

    def build_module(self, net):
        return NestFuseStrategyNet(net, self.spatial_mode)

    def graph_options(self):
        return dict(spatial_mode=self.spatial_mode)

    def describe(self):
        return dict(super().describe(), spatial_mode=self.spatial_mode)
