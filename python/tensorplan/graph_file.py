"""Graph files: ``tensorplan.graph`` JSON (optionally gzip'd), written deterministically and
atomically, and read back."""

import gzip
import io
import json
import os
import tempfile


def dumps(graph):
    """Deterministic JSON text: fixed key order, one tensor or node per line."""
    head = {k: v for k, v in graph.items() if k not in ("tensors", "nodes", "order")}
    enc = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"{json.dumps(k)}:{enc.encode(v)},")
    for key in ("tensors", "nodes"):
        items = graph[key]
        lines.append(f'"{key}":[')
        for i, item in enumerate(items):
            lines.append(enc.encode(item) + ("," if i + 1 < len(items) else ""))
        lines.append("],")
    lines.append(f'"order":{enc.encode(graph["order"])}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def save(graph, path):
    """Writes the graph as JSON (or gzip'd JSON if path ends in .gz), byte-identical for the same
    graph: gzip with mtime 0 and no file name. Written to a temporary name, then renamed."""
    data = dumps(graph).encode("ascii")
    if str(path).endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            gz.write(data)
        data = buf.getvalue()
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Reads a graph written by save (JSON or .json.gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="ascii") as f:
        return json.load(f)
