"""Export the fusion networks to ONNX, with the preprocessing contract and
the source weights recorded in the file.

What is exported is a network's ``fuse_padded(vis, ir)``: the two grey
images, ``float32`` of shape ``(B, 1, H, W)`` in [0, 1] with H and W
multiples of 8 (at least 16), to the fused image of the same shape, not
clamped. Batch, height and width are dynamic. Padding, cropping and the
output's min-max stretch to 0..255 (Section 4.1) stay outside the graph;
:data:`CONTRACT` says how, and :func:`pad_for_graph` is the one
implementation the runtimes use. The ONNX file's ``metadata_props`` carry
:data:`FORMAT`, the method, the sha256 of the weights it was exported from
and the contract, so a file from another network or other weights is
refused with a message instead of silently fusing differently.

Example:
    >>> from msfam_mm.models.networks import MSFAMNet
    >>> meta = export_fusion_onnx(MSFAMNet().eval(), 'msfam.onnx',
    ...                           method='msfam')        # doctest: +SKIP
    >>> read_fusion_onnx_metadata('msfam.onnx')['method']  # doctest: +SKIP
    'msfam'
"""
import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
from torch import nn

from ..models.networks.msfam_net import MSFAMNet, pad_to_divisor
from ..utils.atomic_io import write_bytes_atomic
from ..version import __version__

#: identifies msfam_mm fusion graphs; bump when the graph's interface changes
FORMAT = 'msfam_mm.fusion_graph/1'
#: ONNX opset of the exported graphs (InstanceNormalization, Resize, ...)
OPSET = 18
INPUT_NAMES = ('vis', 'ir')
OUTPUT_NAME = 'fused'
#: the network's padding rule (three poolings; a 2x2 deepest scale)
SIZE_DIVISOR = MSFAMNet.size_divisor
MIN_SIZE = MSFAMNet.min_size
#: how to feed the graph and read its output (also stored in the file)
CONTRACT = {
    'inputs': 'vis, ir: float32 (B, 1, H, W), grey, scaled to [0, 1] '
              '(uint8 / 255); colour inputs: the visible Y channel',
    'padding': f'bottom/right to multiples of {SIZE_DIVISOR}, each side at '
               f'least {MIN_SIZE}; reflect, or replicate where the pad is '
               'not smaller than the side',
    'output': 'fused: float32 (B, 1, H, W), not clamped; crop to the input '
              'size, then stretch each image min..max to 0..255 '
              '(Section 4.1)',
}
_META_PREFIX = 'msfam_mm.'
#: file suffix of exported fusion graphs (tools/export_onnx.py)
ONNX_SUFFIX = '.onnx'

PathLike = Union[str, os.PathLike]


def is_onnx_model(checkpoint) -> bool:
    """Whether a fuser's ``checkpoint`` argument names an exported graph
    (by its :data:`ONNX_SUFFIX`) rather than PyTorch weights."""
    return isinstance(checkpoint, (str, os.PathLike)) and \
        os.fspath(checkpoint).lower().endswith(ONNX_SUFFIX)


class _PaddedGraph(nn.Module):
    """What is traced: ``model.fuse_padded`` with named inputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return self.model.fuse_padded(vis, ir)


def pad_for_graph(vis: torch.Tensor, ir: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pad a pair as :data:`CONTRACT` says (same rule as ``MSFAMNet``)."""
    b = vis.shape[0]
    x = pad_to_divisor(torch.cat([vis, ir], dim=0), SIZE_DIVISOR, MIN_SIZE)
    return x[:b], x[b:]


def fusion_onnx_bytes(model: nn.Module, example_size: Tuple[int, int] = (
        64, 80)) -> bytes:
    """Trace ``model.fuse_padded`` to ONNX (fp32, dynamic B/H/W) in memory.

    Args:
        model: a fusion network with ``fuse_padded`` (``MSFAMNet`` with
            fusion blocks, ``NestFuseStrategyNet``); exported in eval mode
            and fp32 on the CPU, the caller's module is not changed.
        example_size: H, W of the tracing input (multiples of 8).
    """
    if not hasattr(model, 'fuse_padded'):
        raise TypeError(f'{type(model).__name__} has no fuse_padded(vis, ir)'
                        '; export MSFAMNet or NestFuseStrategyNet')
    h, w = example_size
    if h % SIZE_DIVISOR or w % SIZE_DIVISOR:
        raise ValueError(f'example_size must be multiples of {SIZE_DIVISOR}'
                         f', got {example_size}')
    was_training = model.training
    params = list(model.parameters())
    device = params[0].device if params else torch.device('cpu')
    dtype = params[0].dtype if params else torch.float32
    graph = _PaddedGraph(model).eval().float().cpu()
    example = torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(
        0))
    dims = {0: 'batch', 2: 'height', 3: 'width'}
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter warns about its own deprecation and
            # about shape-dependent Python values it cannot see through;
            # the graph is checked against PyTorch in the tests instead
            warnings.simplefilter('ignore')
            torch.onnx.export(
                graph, (example, example.flip(-1)), buf,
                input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                dynamic_axes={n: dims for n in (*INPUT_NAMES, OUTPUT_NAME)},
                opset_version=OPSET, do_constant_folding=True, dynamo=False)
    finally:
        model.to(device=device, dtype=dtype).train(was_training)
    return buf.getvalue()


def _with_metadata(onnx_bytes: bytes, metadata: Dict[str, str]) -> bytes:
    import onnx
    proto = onnx.load_from_string(onnx_bytes)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = _META_PREFIX + key, value
    proto.producer_name = 'msfam_mm'
    proto.producer_version = __version__
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def export_fusion_onnx(model: nn.Module, out: Optional[PathLike], *,
                       method: str, weights_sha256: Optional[str] = None,
                       options: Optional[Dict] = None,
                       example_size: Tuple[int, int] = (64, 80)) -> Dict:
    """Export ``model`` to an ONNX file (atomically) and return its metadata.

    Args:
        model: see :func:`fusion_onnx_bytes`.
        out: the ``.onnx`` path to write; ``None`` only returns the metadata
            and the bytes (``metadata['onnx_bytes']``) without writing.
        method: the fusion method the graph implements (``'msfam'``,
            ``'nestfuse'``): a fuser refuses a file of another method.
        weights_sha256: sha256 of the checkpoint file the weights came from
            (recorded so that a file exported from other weights is noticed).
        options: method options baked into the graph (e.g.
            ``spatial_mode``).

    Returns:
        dict: ``format``, ``method``, ``weights_sha256``, ``options``,
        ``contract`` (all also stored in the file), and ``onnx_bytes``.
    """
    metadata = dict(format=FORMAT, method=method,
                    weights_sha256=weights_sha256 or '',
                    options=json.dumps(options or {}, sort_keys=True),
                    contract=json.dumps(CONTRACT, sort_keys=True),
                    msfam_mm_version=__version__)
    data = _with_metadata(fusion_onnx_bytes(model, example_size), metadata)
    if out is not None:
        write_bytes_atomic(os.fspath(out), data)
    return dict(metadata, options=options or {}, contract=CONTRACT,
                onnx_bytes=data)


def read_fusion_onnx_metadata(source: Union[PathLike, bytes]) -> Dict:
    """The msfam_mm metadata of an exported fusion graph.

    Raises:
        ValueError: naming the file, when it is no ONNX model or no
            msfam_mm fusion graph of this :data:`FORMAT`.
    """
    import onnx
    name = '<in-memory ONNX model>' if isinstance(source, bytes) \
        else os.fspath(source)
    if not isinstance(source, bytes) and not os.path.isfile(name):
        raise FileNotFoundError(f'ONNX model {name!r} does not exist')
    try:
        proto = onnx.load_from_string(source) if isinstance(source, bytes) \
            else onnx.load(name, load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and others
        raise ValueError(f'{name}: not a readable ONNX model ({err})') \
            from None
    meta = {p.key[len(_META_PREFIX):]: p.value for p in proto.metadata_props
            if p.key.startswith(_META_PREFIX)}
    if meta.get('format') != FORMAT:
        found = meta.get('format') or 'no msfam_mm metadata'
        raise ValueError(
            f'{name}: not an msfam_mm fusion graph of format {FORMAT!r} '
            f'({found}); export one with tools/export_onnx.py')
    inputs = [i.name for i in proto.graph.input]
    outputs = [o.name for o in proto.graph.output]
    if inputs != list(INPUT_NAMES) or outputs != [OUTPUT_NAME]:
        raise ValueError(f'{name}: inputs {inputs} / outputs {outputs}, '
                         f'expected {list(INPUT_NAMES)} / {[OUTPUT_NAME]}')
    meta['options'] = json.loads(meta.get('options') or '{}')
    meta['contract'] = json.loads(meta.get('contract') or '{}')
    return meta


#: where exported graphs are cached; ``MSFAM_CACHE_DIR`` overrides it
DEFAULT_CACHE_DIR = os.path.join(os.path.expanduser('~'), '.cache',
                                 'msfam_mm', 'onnx')


def _graph_code_digest() -> str:
    """sha256 over the source of what a graph is traced from (the
    networks and this module): a code change makes cached graphs stale."""
    from ..models import networks
    h = hashlib.sha256()
    files = sorted(Path(networks.__file__).parent.glob('*.py'))
    for path in files + [Path(__file__)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cached_fusion_onnx(model: nn.Module, *, method: str,
                       weights_sha256: str,
                       options: Optional[Dict] = None,
                       cache_dir: Optional[PathLike] = None) -> bytes:
    """The exported graph of ``model`` (with metadata), from the cache when
    the same weights, method, options, code and torch version were exported
    before, else exported and cached.

    Exporting traces the whole network (seconds); a fusing tool started on
    a folder pays that once per machine instead of once per run. The key
    covers everything the graph depends on, so a stale entry is never
    used; a cache folder that cannot be written is skipped with a warning.
    """
    key = hashlib.sha256(json.dumps(dict(
        format=FORMAT, method=method, weights=weights_sha256,
        options=options or {}, code=_graph_code_digest(),
        torch=torch.__version__, opset=OPSET), sort_keys=True).encode()
    ).hexdigest()[:32]
    folder = Path(cache_dir or os.environ.get('MSFAM_CACHE_DIR')
                  or DEFAULT_CACHE_DIR)
    path = folder / f'{method}-{key}{ONNX_SUFFIX}'
    if path.is_file():
        data = path.read_bytes()
        try:
            if read_fusion_onnx_metadata(data)['weights_sha256'] == \
                    weights_sha256:
                return data
        except ValueError:
            pass  # a damaged entry is replaced below
    data = export_fusion_onnx(model, None, method=method,
                              weights_sha256=weights_sha256,
                              options=options)['onnx_bytes']
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)
    except OSError as err:
        warnings.warn(f'could not cache the exported graph in {folder} '
                      f'({err}); set MSFAM_CACHE_DIR to a writable folder',
                      RuntimeWarning, stacklevel=2)
    return data
