"""Command-line plumbing shared by ``tools/fuse.py`` and
``tools/fuse_kaist.py``: the fusing options (one place: an option added
here reaches both tools), their translation into the library's arguments,
and how errors become exit statuses.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_fusion_arguments(parser)
    >>> args = parser.parse_args(['--method', 'laplacian',
    ...                           '--option', 'levels=5'])
    >>> fusion_arguments(args)['method_options']
    {'levels': 5}
"""
import argparse
import json
import os
import sys
from typing import Callable, Dict, Mapping, Optional

from msfam_mm.apis import list_fusers, model_loading
from msfam_mm.deploy.runtimes import AUTO_ORDER, BACKENDS
from msfam_mm.registry import FUSERS
from .errors import ArgumentError

__all__ = ['jpeg_quality', 'add_fusion_arguments', 'fusion_arguments',
           'parse_options', 'argument_names', 'error_text', 'USAGE_ERRORS',
           'print_methods', 'require', 'run_reporting_errors',
           'describe_shipped_weights']


def jpeg_quality(text: str) -> int:
    """argparse type: an integer in OpenCV's JPEG quality range 0..100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer 0..100, got {text!r}') from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(
            f'must be in 0..100 (OpenCV IMWRITE_JPEG_QUALITY), got {value}')
    return value


def add_fusion_arguments(p: argparse.ArgumentParser,
                         device_help: str = "'cpu' (default), 'cuda', "
                         "'cuda:N' or 'auto'") -> None:
    """The options both fusing tools take: the method and its model,
    device and precision, and the output format."""
    p.add_argument('--method',
                   help='fusion method (see --list-methods)')
    p.add_argument('--list-methods', action='store_true',
                   help='print the registered fusion methods and exit')
    p.add_argument('--config', help='model config (learned methods; msfam '
                   'defaults to configs/msfam_stage2.py)')
    p.add_argument('--checkpoint', help='model weights (learned methods; '
                   'msfam needs this or --shipped-weights)')
    p.add_argument('--shipped-weights', action='store_true',
                   help='msfam: use the CPU-trained weights shipped in '
                   'checkpoints/ (not the paper\'s; see checkpoints/'
                   'README.md) instead of a --checkpoint of your own')
    p.add_argument('--option', action='append', default=[],
                   metavar='KEY=VALUE',
                   help='method option, e.g. levels=5 or spatial_mode='
                   'l1_ratio (values parsed as JSON when possible)')
    p.add_argument('--device', default='cpu', help=device_help)
    p.add_argument('--backend', default='auto',
                   choices=('auto',) + BACKENDS,
                   help='what runs a learned method: auto (default: torch '
                   'on CUDA, else the fastest installed of '
                   f"{', '.join(AUTO_ORDER)}), or one of them; classic "
                   'methods run on torch')
    p.add_argument('--precision', default='auto',
                   choices=('auto', 'fp32', 'bf16', 'fp16'),
                   help='auto (default: bf16 on OpenVINO where the CPU has '
                   'native bf16, else fp32), fp32, bf16 (AMX/AVX512-BF16 '
                   'CPUs or CUDA) or fp16 (torch on CUDA)')
    p.add_argument('--color', action='store_true',
                   help='fuse the visible Y channel, keep its colour')
    p.add_argument('--normalize', choices=('minmax', 'clip'),
                   help='output scaling (default: minmax for learned '
                   'methods as in Section 4.1, clip for classic ones)')
    p.add_argument('--batch-size', type=int, default=1,
                   help='pairs per model call (default 1; pairs of one size '
                   'are batched together)')
    p.add_argument('--workers', type=int, default=2,
                   help='threads decoding inputs (0: main thread)')
    p.add_argument('--ext', default='png', choices=('png', 'jpg'),
                   help='output format (png: lossless, default)')
    p.add_argument('--jpeg-quality', type=jpeg_quality, default=95,
                   help='JPEG quality 0..100 for --ext jpg (default 95)')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')


def describe_shipped_weights() -> str:
    """What ``--shipped-weights`` fuses with: the files, the weights'
    sha256 and where their training is described."""
    ckpt = model_loading.DEFAULT_MSFAM_CHECKPOINT
    if not os.path.isfile(ckpt):
        raise FileNotFoundError(f'--shipped-weights: {ckpt} is missing (it '
                                'lives in the source checkout)')
    return (f'--shipped-weights: {ckpt} (sha256 '
            f'{model_loading.file_sha256(ckpt)}) with '
            f'{model_loading.DEFAULT_MSFAM_CONFIG}: weights trained on a '
            "CPU for this repository, not the paper's; how they were "
            'trained and what they score: checkpoints/README.md')


def _model_arguments(args: argparse.Namespace) -> Dict:
    """``config``/``checkpoint`` for the library: a method with shipped
    weights needs ``--checkpoint`` or an explicit ``--shipped-weights``,
    so a user's own result is never silently replaced by them."""
    cls = FUSERS.get(args.method) if args.method else None
    shipped = cls is not None and cls.requires_model and \
        cls.has_default_weights
    if args.shipped_weights:
        if not shipped:
            raise ValueError(f'--shipped-weights: fusion method '
                             f'{args.method!r} has no shipped weights')
        if args.config is not None or args.checkpoint is not None:
            raise ValueError('--shipped-weights and --config/--checkpoint '
                             'exclude each other')
        print(describe_shipped_weights(), file=sys.stderr)
    elif shipped and args.checkpoint is None:
        raise ValueError(
            f'fusion method {args.method!r} needs --checkpoint (your '
            'stage-2 checkpoint, e.g. from work_dirs/msfam_stage2/) or '
            "--shipped-weights (the CPU-trained weights in checkpoints/, "
            "not the paper's; checkpoints/README.md)")
    return dict(config=args.config, checkpoint=args.checkpoint)


def fusion_arguments(args: argparse.Namespace) -> Dict:
    """The options of :func:`add_fusion_arguments` as keyword arguments of
    ``fuse_folders``/``fuse_kaist``."""
    return dict(method=args.method, **_model_arguments(args),
                device=args.device, backend=args.backend,
                precision=args.precision,
                color=args.color, normalize=args.normalize,
                batch_size=args.batch_size, workers=args.workers,
                ext=args.ext, jpeg_quality=args.jpeg_quality,
                progress=not args.no_progress,
                method_options=parse_options(args.option))


def parse_options(items) -> Dict:
    """``['KEY=VALUE', ...]`` -> dict; values parsed as JSON when they
    are JSON, else kept as strings."""
    out = {}
    for item in items:
        if '=' not in item:
            raise ValueError(f'--option {item!r}: expected KEY=VALUE')
        key, value = item.split('=', 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def argument_names(parser: argparse.ArgumentParser,
                   **extra: str) -> Dict[str, str]:
    """How the library's arguments are called on this command line: each
    option's destination -> its longest flag (a positional: its name in
    capitals), plus ``extra`` (library argument -> flag) for arguments
    named differently."""
    names = {}
    for action in parser._actions:
        names[action.dest] = max(action.option_strings, key=len) \
            if action.option_strings else action.dest.upper()
    names['method_options'] = '--option'
    names.update(extra)
    return names


def error_text(e: BaseException,
               names: Optional[Mapping[str, str]] = None) -> str:
    """An error message in the tool's words: OS errors name their file,
    argument errors the tool's flags."""
    if isinstance(e, ArgumentError):
        return e.render(names)
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        where = e.filename if e.filename2 is None else \
            f'{e.filename} -> {e.filename2}'
        return f'{where}: {e.strerror}'
    if isinstance(e, KeyError) and len(e.args) == 1 and \
            isinstance(e.args[0], str):
        return e.args[0]  # str(KeyError) would add quotes
    return str(e)


#: what the tools report as bad arguments or I/O problems (exit 2); any
#: other exception is a bug and keeps its traceback
USAGE_ERRORS = (ValueError, KeyError, OSError, RuntimeError)


def print_methods() -> int:
    """--list-methods: the registered fusion methods, one per line."""
    print('\n'.join(list_fusers()))
    return 0


def require(**given) -> None:
    """Refuse a run without its required arguments (a usage error)."""
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise ValueError(f'required: {", ".join(missing)}')


def run_reporting_errors(prog: str, run: Callable[[], int],
                         names: Optional[Mapping[str, str]] = None) -> int:
    """The exit status of ``run()``, or 2 after printing a usage or I/O
    error (``USAGE_ERRORS``; argument errors in the words of ``names``),
    or 130 after an interruption (the tools resume where they stopped)."""
    try:
        return run()
    except USAGE_ERRORS as e:
        print(f'{prog}: error: {error_text(e, names)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'{prog}: interrupted; run the same command again to resume',
              file=sys.stderr)
        return 130
