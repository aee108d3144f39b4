"""What the command lines of the PyTorch side share: the training-step options (optimizer and its
settings, gradient semantics), their checks, the status line of long phases, and the one line an
unexpected error is shown as."""

import contextlib
import sys
import threading
import time

from . import trace, zoo


def add_training_options(parser):
    """--optimizer, --lr, --momentum, --weight-decay and --gradients."""
    parser.add_argument("--optimizer", choices=zoo.OPTIMIZERS, default="sgd",
                        help="sgd (momentum 0.9, lr 0.01), adam or adamw (lr 1e-3); default sgd")
    parser.add_argument("--lr", type=float, help="learning rate (default: the optimizer's above)")
    parser.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    parser.add_argument("--weight-decay", type=float,
                        help="weight decay (default: none, AdamW 0.01)")
    parser.add_argument("--gradients", choices=trace.GRADIENTS, default="keep",
                        help="keep: gradients kept in .grad (PyTorch's default); fused: each "
                             "parameter updated in backward as soon as its gradient is complete, "
                             "the gradient freed right after (default keep)")


def check_training_options(parser, args):
    """Exits 2 (parser.error) on a learning rate, momentum or weight decay that is not a finite
    number >= 0."""
    for option in ("lr", "momentum", "weight_decay"):
        value = getattr(args, option)
        if value is not None and not (value >= 0 and value < float("inf")):
            parser.error(f"--{option.replace('_', '-')} must be a finite number >= 0")


def optimizer_factory(args):
    """The optimizer the options name, as zoo.optimizer_factory makes it."""
    return zoo.optimizer_factory(args.optimizer, args.lr, args.momentum, args.weight_decay)


def error_line(e):
    """An unexpected exception as one line: its type and the first line of its message."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


@contextlib.contextmanager
def phase(program, status, enabled=True):
    """Shows "program: status (N s)" on stderr, redrawn every second while the block runs, and
    clears it afterwards; only on a terminal (nothing when stderr is a file or a pipe)."""
    if not enabled or not sys.stderr.isatty():
        yield
        return
    start = time.perf_counter()
    stop = threading.Event()

    def draw():
        seconds = time.perf_counter() - start
        line = f"{program}: {status}" + (f" ({seconds:.0f} s)" if seconds >= 1 else "")
        sys.stderr.write("\r" + line.ljust(78)[:78])
        sys.stderr.flush()

    def tick():
        while not stop.wait(1.0):
            draw()

    draw()
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        sys.stderr.write("\r" + " " * 78 + "\r")
        sys.stderr.flush()
