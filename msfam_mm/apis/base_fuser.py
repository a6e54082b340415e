"""One interface for every image-level fusion method (``FUSERS`` registry).

A fuser takes a visible and an infrared image and returns the fused 8-bit
image at the inputs' size. Subclasses implement only
:meth:`BaseFuser.fuse_tensor` on float tensors ``(B, 1, H, W)`` in [0, 1]
(docs/CONTRACTS.md); this base class does the rest:

* inputs: paths or uint8 arrays, single or batched (a list), grey or BGR;
  3-channel thermal frames (KAIST's lwir JPEGs) become grey;
* colour mode: the visible image's Y channel is fused and its Cr/Cb are
  re-attached (the paper only fuses grey pairs, Section 4.5);
* output: ``'minmax'`` (Section 4.1, the learned methods' default) or
  ``'clip'`` (classic methods, whose output is already in [0, 1]);
* device, backend (``torch``; learned methods also ``onnxruntime`` and
  ``openvino``, see ``msfam_mm.deploy``), precision (fp32, bf16 autocast
  on CPU/CUDA, fp16 on CUDA; ``auto`` = the backend's fastest correct one)
  and ``torch.inference_mode``.

Example:
    >>> from msfam_mm.apis import build_fuser
    >>> fuser = build_fuser('average')
    >>> fused = fuser('vis.png', 'ir.png')               # doctest: +SKIP
    >>> fused.shape, fused.dtype                         # doctest: +SKIP
    ((512, 640), dtype('uint8'))
"""
import inspect
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..deploy.runtimes import BACKENDS, resolve_backend, resolve_precision
from ..utils.image_io import (ImageLike, load_image, merge_luma, split_luma,
                              to_grey)
from ..utils.normalization import UINT8_MODES as NORMALIZE_MODES
from ..utils.normalization import to_uint8
from ..utils.precision import autocast_context

PRECISIONS = ('fp32', 'bf16', 'fp16')


def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """``None``/'auto' -> CUDA when available, else CPU; check availability."""
    if device is None or device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' requested but CUDA is not "
                           'available in this torch build / machine')
    if device.type == 'cuda' and device.index is not None and \
            device.index >= torch.cuda.device_count():
        raise RuntimeError(f"device '{device}' requested but this machine "
                           f'has {torch.cuda.device_count()} CUDA device(s)')
    return device


def check_precision(precision: str, device: torch.device) -> str:
    """Validate a precision name for ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, '
                         f'got {precision!r}')
    if precision == 'fp16' and device.type != 'cuda':
        raise ValueError("precision 'fp16' needs a CUDA device (CPU kernels "
                         "for fp16 convolutions are slow or missing); use "
                         "'bf16' on CPU")
    if precision == 'bf16' and device.type == 'cpu' and \
            not cpu_has_fast_bf16():
        # measured on an AVX2-only EPYC: bf16 convolutions fall back to
        # aten::_slow_conv2d_forward, ~20x slower than fp32 (inference.md)
        warnings.warn('bf16 on this CPU has no oneDNN bf16 kernels '
                      '(needs AVX-512 BF16/AMX): it will be much slower than '
                      'fp32', RuntimeWarning, stacklevel=3)
    return precision


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def tensor_to_uint8(x: torch.Tensor, normalize: str) -> torch.Tensor:
    """``(B, 1, H, W)`` float -> uint8 per image
    (:func:`msfam_mm.utils.to_uint8`: ``'minmax'`` stretches each image's
    own min..max to 0..255, Section 4.1; a constant image maps to 0)."""
    return to_uint8(x, normalize)


#: constructor arguments common to every fuser (not method options)
_RESERVED_OPTIONS = ('color', 'normalize', 'device', 'precision', 'config',
                     'checkpoint', 'backend')


def method_option_names(cls: type) -> List[str]:
    """The keyword options a fuser class accepts besides the common ones.

    Follows ``**kwargs`` up the class hierarchy (a subclass passes them on
    to its parent), so the answer is what the constructor chain accepts.
    """
    names: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and \
                    p.name not in _RESERVED_OPTIONS and p.name not in names:
                names.append(p.name)
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return sorted(names)


def check_method_options(method: str, cls: type, options: Dict) -> None:
    """Refuse option names the method's constructor does not take.

    Raises:
        ValueError: naming the option and the accepted ones (a bad name
            would otherwise surface as a ``TypeError`` deep in the build).
    """
    accepted = method_option_names(cls)
    for key in options:
        if key in _RESERVED_OPTIONS:
            raise ValueError(f'{key!r} is a common fuser argument of its '
                             'own, not a method option')
        if key not in accepted:
            raise ValueError(
                f'fusion method {method!r} has no option '
                f'{key!r}; it accepts: '
                f'{", ".join(accepted) if accepted else "no options"}')


class BaseFuser:
    """Base class of all fusion methods in ``msfam_mm.registry.FUSERS``.

    Args:
        color (bool): fuse the visible image's Y channel and return a BGR
            image with the visible Cr/Cb (grey visible inputs stay grey).
        normalize (str, optional): ``'minmax'`` or ``'clip'``; ``None``
            takes the class default (:attr:`default_normalize`).
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
        precision (str): ``'fp32'``, ``'bf16'`` (autocast, CPU or CUDA),
            ``'fp16'`` (autocast, CUDA only) or ``'auto'`` (fp32 on the
            torch backend; the fastest precision the other backends run
            here, see :func:`msfam_mm.deploy.resolve_precision`).
        backend (str): ``'torch'``, ``'onnxruntime'``, ``'openvino'`` (the
            methods in :attr:`supported_backends`) or ``'auto'`` (torch on
            CUDA, else the fastest installed backend the method supports).
    """

    #: whether the method needs ``config``/``checkpoint``
    requires_model = False
    #: a learned method that falls back to the shipped weights when built
    #: without config/checkpoint (see checkpoints/README.md)
    has_default_weights = False
    default_normalize = 'clip'
    #: backends the method runs on (classic methods: PyTorch operations)
    supported_backends = ('torch', )

    def __init__(self, color: bool = False, normalize: Optional[str] = None,
                 device: Union[str, torch.device] = 'cpu',
                 precision: str = 'fp32', backend: str = 'torch') -> None:
        self.color = bool(color)
        self.normalize = normalize or self.default_normalize
        if self.normalize not in NORMALIZE_MODES:
            raise ValueError(f'{type(self).__name__}: normalize must be one '
                             f'of {NORMALIZE_MODES}, got {normalize!r}')
        self.device = resolve_device(device)
        self.backend, self.precision = self.resolve_execution(
            backend, precision, self.device)

    @classmethod
    def resolve_execution(cls, backend: str, precision: str,
                          device: Union[str, torch.device]
                          ) -> Tuple[str, str]:
        """The backend and precision this method runs with: ``'auto'``
        resolved (see the class docstring), named ones checked.

        Raises:
            ValueError: an unknown backend or precision, one the method or
                the device cannot run.
            ImportError: the backend's package is not installed.
        """
        device = resolve_device(device)
        if backend == 'auto':
            backend = resolve_backend('auto', device.type)
            if backend not in cls.supported_backends:
                backend = 'torch'
        elif backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS} or auto, '
                             f'got {backend!r}')
        elif backend not in cls.supported_backends:
            raise ValueError(
                f'{cls.__name__} runs on backend(s) '
                f"{', '.join(cls.supported_backends)}, not {backend!r}")
        else:
            backend = resolve_backend(backend, device.type)
        if backend == 'torch':
            return backend, check_precision(
                'fp32' if precision == 'auto' else precision, device)
        return backend, resolve_precision(backend, precision)

    def autocast(self):
        """The autocast context of :meth:`fuse_tensor` calls: the
        precision's on the torch backend; none on the others, whose runtime
        applies the precision itself."""
        return autocast_context(self.device, self.precision
                                if self.backend == 'torch' else 'fp32')

    # ----------------------------------------------------------- the method
    def fuse_tensor(self, vis: torch.Tensor, ir: torch.Tensor
                    ) -> torch.Tensor:
        """Fuse ``(B, 1, H, W)`` float tensors in [0, 1] on ``self.device``;
        return ``(B, 1, H, W)`` (any float dtype, not necessarily clamped)."""
        raise NotImplementedError

    def describe(self) -> Dict:
        """Settings that identify this fuser's output (for manifests)."""
        return dict(method=type(self).__name__, color=self.color,
                    normalize=self.normalize, precision=self.precision,
                    device=str(self.device), backend=self.backend)

    # ------------------------------------------------------- array helpers
    def prepare(self, vis: ImageLike, ir: ImageLike, name: str = 'pair'
                ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Load and check one pair -> (visible Y, infrared grey, visible
        CrCb or ``None``). Pure numpy/cv2: safe in DataLoader workers."""
        return prepare_pair(vis, ir, self.color, name)

    @torch.inference_mode()
    def fuse_luma(self, vis_y: Sequence[np.ndarray],
                  ir_y: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Fuse lists of grey uint8 planes; pairs of one size are batched."""
        if len(vis_y) != len(ir_y):
            raise ValueError(f'fuse_luma: {len(vis_y)} visible but '
                             f'{len(ir_y)} infrared images')
        out: List[Optional[np.ndarray]] = [None] * len(vis_y)
        groups: Dict[Tuple[int, int], List[int]] = {}
        for i, (v, r) in enumerate(zip(vis_y, ir_y)):
            if v.shape != r.shape:
                raise ValueError(f'fuse_luma: pair {i} has visible size '
                                 f'{v.shape} but infrared size {r.shape}')
            groups.setdefault(v.shape, []).append(i)
        for idx in groups.values():
            v = self._to_tensor(np.stack([vis_y[i] for i in idx]))
            r = self._to_tensor(np.stack([ir_y[i] for i in idx]))
            with self.autocast():
                fused = self.fuse_tensor(v, r)
            if fused.shape != v.shape:
                raise RuntimeError(f'{type(self).__name__}.fuse_tensor '
                                   f'returned shape {tuple(fused.shape)} for '
                                   f'input {tuple(v.shape)}')
            fused = tensor_to_uint8(fused, self.normalize).cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = fused[j, 0]
        return out

    def _to_tensor(self, planes: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(planes).unsqueeze(1)
        if self.device.type == 'cuda':
            t = t.pin_memory().to(self.device, non_blocking=True)
        # scale on the device: uint8 travels 4x fewer bytes than float
        return t.to(self.device).float().div_(255.0)

    # ---------------------------------------------------------- public API
    def __call__(self, vis: Union[ImageLike, Sequence[ImageLike]],
                 ir: Union[ImageLike, Sequence[ImageLike]]
                 ) -> Union[np.ndarray, List[np.ndarray]]:
        """Fuse one pair (path or array each) or two equally long lists.

        Returns the fused uint8 image ``(H, W)`` (``(H, W, 3)`` BGR in colour
        mode with a colour visible input), or a list of them for lists.
        """
        single = not isinstance(vis, (list, tuple))
        if single != (not isinstance(ir, (list, tuple))):
            raise TypeError('pass one visible and one infrared image, or two '
                            'lists of the same length')
        vis_l = [vis] if single else list(vis)
        ir_l = [ir] if single else list(ir)
        if len(vis_l) != len(ir_l):
            raise ValueError(f'{len(vis_l)} visible but {len(ir_l)} infrared '
                             'images')
        prepared = [self.prepare(v, r, name=f'pair {i}')
                    for i, (v, r) in enumerate(zip(vis_l, ir_l))]
        fused = self.fuse_luma([p[0] for p in prepared],
                               [p[1] for p in prepared])
        out = [merge_luma(y, p[2]) for y, p in zip(fused, prepared)]
        return out[0] if single else out


def prepare_pair(vis: ImageLike, ir: ImageLike, color: bool = False,
                 name: str = 'pair'
                 ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Load a visible/infrared pair and bring it to the model's grey form.

    Returns (visible Y or grey, infrared grey, visible CrCb if ``color`` and
    the visible image has colour, else ``None``).

    Raises:
        ImageReadError: an input cannot be read.
        ValueError: the two images differ in size.
    """
    vis_name = str(vis) if not isinstance(vis, np.ndarray) else f'{name} visible'
    ir_name = str(ir) if not isinstance(ir, np.ndarray) else f'{name} infrared'
    v = load_image(vis, vis_name)
    r = load_image(ir, ir_name)
    if v.shape[:2] != r.shape[:2]:
        raise ValueError(f'size mismatch: {vis_name} is {v.shape[1]}x'
                         f'{v.shape[0]} but {ir_name} is {r.shape[1]}x'
                         f'{r.shape[0]} (W x H)')
    if color:
        vis_y, crcb = split_luma(v)
    else:
        vis_y, crcb = to_grey(v), None
    return np.ascontiguousarray(vis_y), np.ascontiguousarray(to_grey(r)), crcb
