"""Exports one training step of a PyTorch model as a ``tensorplan.graph`` (see docs/exporter.md):
the public API (``training_graph``, ``save``, ``load``, ``ExportError``) and the command line
``python3 -m tensorplan.export``. The tracing lives in ``trace``, the files in ``graph_file``."""

import argparse
import os
import sys
import time

import torch

from . import calls, cli, zoo
from .graph_file import dumps, load, save
from .trace import (FORMAT, GRADIENTS, PHASES, VERSION, ExportError, NoRecordFunction,
                    check_per_parameter_optimizer, copy_to_device, training_graph)

__all__ = ["FORMAT", "GRADIENTS", "PHASES", "VERSION", "ExportError", "NoRecordFunction",
           "check_per_parameter_optimizer", "copy_to_device", "dumps", "load", "main", "save",
           "training_graph"]


# -- command line --------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tensorplan.export",
        description="Export one training step (forward, loss, backward, optimizer update) of a "
                    "model as a tensorplan graph, traced on the meta device (nothing computed).",
        epilog="example: python3 -m tensorplan.export torchvision:resnet18 --batch-size 32 "
               "--optimizer adam -o resnet18-b32-adam.json.gz\n\n" + zoo.USER_MODEL_HELP +
               " (e.g. mypkg.models:make_step).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL",
                        help="torchvision:NAME (any torchvision.models builder), a zoo model "
                             "(transformer:bert-base, resnet50, ...), MODULE:CALLABLE (your own), "
                             "or 'list' to print the zoo")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    cli.add_training_options(parser)
    parser.add_argument("--device", default="meta",
                        help="where to trace: meta (default; computes nothing) or a real device "
                             "(cpu, cuda), for operators without meta kernels or that differ on "
                             "meta (LSTM/GRU); the graph is then the step on that device")
    parser.add_argument("--replay", action="store_true",
                        help="record every call with its arguments, so that the step can be run "
                             "in a planned order (tensorplan.optimize)")
    parser.add_argument("-o", "--output", help="graph file (.json or .json.gz)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    args = parser.parse_args(argv)

    if args.model == "list":
        for entry in zoo.names():
            print(entry)
        return 0
    if not args.output:
        parser.error("-o FILE is required")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    cli.check_training_options(parser, args)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device: unknown device '{args.device}'")
    start = time.perf_counter()
    try:
        spec = zoo.get(args.model)
        factory = cli.optimizer_factory(args)
        show = not args.quiet
        with cli.phase("tensorplan.export", f"tracing {args.model} (batch {args.batch_size}, "
                       f"{args.optimizer}) on {device}", show):
            graph = zoo.export(spec, args.batch_size, args.optimizer, gradients=args.gradients,
                               device=str(device), replay=args.replay, factory=factory)
        with cli.phase("tensorplan.export", f"writing {os.path.basename(args.output)}", show):
            save(graph, args.output)
    except (ExportError, zoo.ZooError, calls.ReplayError) as e:
        if args.debug:
            raise
        message = str(e)
        if device.type == "meta" and "no meta kernel" in message:
            message += "; or trace on a real device: --device cpu"
        print(f"tensorplan.export: error: {message}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - one line, no traceback wall
        if args.debug:
            raise
        print(f"tensorplan.export: error: {cli.error_line(e)}", file=sys.stderr)
        return 2
    if not args.quiet:
        seconds = time.perf_counter() - start
        print(f"{args.output}: {len(graph['nodes'])} nodes, {len(graph['tensors'])} tensors, "
              f"{seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
