#!/usr/bin/env python3
"""Turns matrix.sh's JSON lines into docs/traversal-matrix.md tables and an SVG heat map.

    matrix_report.py RESULTS.jsonl [--report FILE.md] [--svg FILE.svg] [--baseline FILE.json]
                     [--write-baseline FILE.json]

A cell is one (condition, transport, strategy, side a's NAT, side b's NAT); it shows the runs
that linked out of those made and the median milliseconds from connect() to the first echo
(auto_connect cells also name the plugins that won). --baseline exits 1 when a cell the
baseline lists as linked linked in no run now: a pair that regressed.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

MODES = ["none", "full-cone", "restricted", "port-restricted", "sequential", "symmetric"]


def load(path):
    cells = defaultdict(list)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            cells[(r["condition"], r["transport"], r["strategy"], r["a"], r["b"])].append(r)
    return cells


def summary(runs):
    linked = [r for r in runs if r.get("linked")]
    times = [r["first_echo_ms"] for r in linked if r.get("first_echo_ms") is not None]
    median = statistics.median(times) if times else None
    winners = sorted({r.get("plugin") for r in linked if r.get("plugin")})
    return len(linked), len(runs), median, winners


def cell_text(runs, with_winner):
    ok, n, median, winners = summary(runs)
    if n == 0:
        return ""
    text = f"{ok}/{n}"
    if median is not None:
        text += f", {median:.0f} ms"
    if with_winner and winners:
        text += " (" + ", ".join(winners) + ")"
    return text


def tables(cells):
    out = []
    groups = sorted({k[:3] for k in cells}, key=lambda k: (k[0], k[1], k[2] != "auto", k[2]))
    for condition, transport, strategy in groups:
        modes = [m for m in MODES if any((condition, transport, strategy, m, b) in cells or
                                         (condition, transport, strategy, b, m) in cells for b in MODES)]
        out.append(f"\n### {strategy}, {transport.upper()}, {condition}\n")
        out.append("| a \\ b | " + " | ".join(modes) + " |")
        out.append("|---" * (len(modes) + 1) + "|")
        for a in modes:
            row = [cell_text(cells.get((condition, transport, strategy, a, b), []), strategy == "auto") for b in modes]
            out.append(f"| {a} | " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def svg(cells):
    size, pad, label = 64, 8, 110
    panels = sorted({k[:2] for k in cells if k[2] == "auto"})
    width = label + len(MODES) * size + pad
    height = (label + len(MODES) * size + pad) * max(len(panels), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="10">']
    for i, (condition, transport) in enumerate(panels):
        top = i * (label + len(MODES) * size + pad)
        parts.append(f'<text x="4" y="{top + 14}" font-size="13">auto_connect, {transport.upper()}, {condition} (rows: a, columns: b)</text>')
        for j, m in enumerate(MODES):
            parts.append(f'<text x="{label + j * size + 2}" y="{top + label - 6}" transform="rotate(-35 {label + j * size + 2} {top + label - 6})">{m}</text>')
            parts.append(f'<text x="4" y="{top + label + j * size + size / 2}">{m}</text>')
        for r, a in enumerate(MODES):
            for c, b in enumerate(MODES):
                runs = cells.get((condition, transport, "auto", a, b), [])
                ok, n, median, _ = summary(runs)
                x, y = label + c * size, top + label + r * size
                if n == 0:
                    colour = "#eeeeee"
                else:
                    share = ok / n
                    colour = f"rgb({int(220 * (1 - share))},{int(60 + 150 * share)},80)"
                parts.append(f'<rect x="{x}" y="{y}" width="{size - 2}" height="{size - 2}" fill="{colour}"/>')
                if n:
                    parts.append(f'<text x="{x + 4}" y="{y + 20}" fill="white">{ok}/{n}</text>')
                if median is not None:
                    parts.append(f'<text x="{x + 4}" y="{y + 36}" fill="white">{median:.0f} ms</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--report")
    p.add_argument("--svg")
    p.add_argument("--baseline")
    p.add_argument("--write-baseline")
    args = p.parse_args()
    cells = load(args.results)
    text = tables(cells)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write("# Traversal matrix\n\nProduced by `tests/lab/matrix.sh` in the NAT lab (docs/lab.md): each cell is runs "
                    "linked / runs made, and the median milliseconds from connect() to the first echoed message.\n")
            f.write(text)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(cells))
    linked = {"/".join(k): True for k, runs in cells.items() if summary(runs)[0] > 0}
    if args.write_baseline:
        with open(args.write_baseline, "w") as f:
            json.dump(linked, f, indent=1, sort_keys=True)
    if args.baseline:
        with open(args.baseline) as f:
            expected = json.load(f)
        ran = {"/".join(c) for c in cells}
        lost = [k for k in expected if k in ran and k not in linked]
        for k in lost:
            print(f"REGRESSED: {k} linked before, not now")
        print(f"matrix: {len(linked)} cells linked, {len(lost)} regressed")
        return 1 if lost else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
