#!/usr/bin/env python3
"""Turns matrix.sh's JSON lines into docs/traversal-matrix.md tables and an SVG heat map.

    matrix_report.py RESULTS.jsonl [--report FILE.md] [--svg FILE.svg] [--baseline FILE.json]
                     [--write-baseline FILE.json] [--note TEXT]

A cell is one (condition, transport, strategy, side a's NAT, side b's NAT); it shows the runs
that linked out of those made and the median milliseconds from connect() to the first echo
(auto_connect cells also name the plugins that won, "relay" marking relayed links). The IPv6
modes (fw6, open6, nat66, dual) make tables of their own, the IPv6 row; there a link made
over IPv4 (dual stack) is marked "IPv4".
--baseline exits 1 when a cell the baseline lists as linked linked in no run now, or was
not run at all although it is in the results' selection: a pair that regressed.
"""
import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict

MODES = ["none", "full-cone", "restricted", "port-restricted", "sequential", "symmetric", "cgnat",
         "fw6", "open6", "nat66", "dual"]
IPV6_MODES = {"fw6", "open6", "nat66", "dual"}
LABELS = {
    "none": "none (public)",
    "full-cone": "full cone",
    "restricted": "restricted",
    "port-restricted": "port-restricted",
    "sequential": "sequential symmetric",
    "symmetric": "random symmetric",
    "cgnat": "CGNAT double NAT",
    "fw6": "IPv6 firewall",
    "open6": "IPv6 open",
    "nat66": "NAT66",
    "dual": "dual stack (IPv4 port-restr., IPv6 firewall)",
}
SHORT = {"none": "none", "full-cone": "full cone", "restricted": "restricted", "port-restricted": "port-restr.",
         "sequential": "seq. symm.", "symmetric": "rand. symm.", "cgnat": "CGNAT",
         "fw6": "IPv6 fw", "open6": "IPv6 open", "nat66": "NAT66", "dual": "dual stack"}


def family(a, b):
    return "IPv6" if a in IPV6_MODES or b in IPV6_MODES else "IPv4"


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


def groups_of(cells):
    """(condition, transport, strategy, family) of every cell: a table each, IPv4's first."""
    return sorted({k[:3] + (family(*k[3:]),) for k in cells},
                  key=lambda k: (k[0] != "plain", k[0], k[3], k[2] != "auto", k[2], k[1]))


def in_group(key, group):
    return key[:3] == group[:3] and family(*key[3:]) == group[3]


def group_name(group):
    condition, transport, strategy, fam = group
    name = "auto_connect" if strategy == "auto" else f"--plugins {strategy}"
    return f"{name}, {transport.upper()}, {condition}" + (", IPv6" if fam == "IPv6" else "")


def winner(r):
    """The plugin that linked a run; over IPv4 in the IPv6 row (a dual-stack race IPv4 won)."""
    name = r["plugin"] + (" relay" if r.get("relayed") else "")
    if family(r["a"], r["b"]) == "IPv6" and "IPv4" in (r.get("attempt") or ""):
        name += " IPv4"
    return name


def summary(runs):
    linked = [r for r in runs if r.get("linked")]
    times = [r["first_echo_ms"] for r in linked if r.get("first_echo_ms") is not None]
    median = statistics.median(times) if times else None
    winners = sorted({winner(r) for r in linked if r.get("plugin")})
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


def modes_of(cells, group):
    return [m for m in MODES if any(in_group(k, group) and m in k[3:] for k in cells)]


def tables(cells):
    out = []
    for group in groups_of(cells):
        strategy = group[2]
        modes = modes_of(cells, group)
        out.append(f"\n### {group_name(group)}\n")
        out.append("| a \\ b | " + " | ".join(LABELS[m] for m in modes) + " |")
        out.append("|---" * (len(modes) + 1) + "|")
        for a in modes:
            row = [cell_text(cells.get(group[:3] + (a, b), []), strategy == "auto") for b in modes]
            out.append(f"| **{LABELS[a]}** | " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def plugin_summary(cells):
    """One line per (condition, transport, strategy): pairs that linked at all, runs linked, median."""
    out = ["\n| strategy | transport | condition | family | pairs linked | runs linked | median ms |",
           "|---|---|---|---|---|---|---|"]
    for group in groups_of(cells):
        keys = [k for k in cells if in_group(k, group)]
        pairs_ok = sum(1 for k in keys if summary(cells[k])[0] > 0)
        runs = [r for k in keys for r in cells[k]]
        ok, n, median, _ = summary(runs)
        condition, transport, strategy, fam = group
        name = "auto_connect" if strategy == "auto" else strategy
        out.append(f"| {name} | {transport.upper()} | {condition} | {fam} | {pairs_ok}/{len(keys)} | {ok}/{n} | "
                   + (f"{median:.0f}" if median is not None else "-") + " |")
    return "\n".join(out) + "\n"


def usual_winner(runs):
    """The plugin that won most of a cell's linked runs, shortened for a heat map square."""
    won = Counter("relay" if r.get("relayed") else r["plugin"].split("_")[0] + (" v4" if winner(r).endswith("IPv4") else "")
                  for r in runs if r.get("linked") and r.get("plugin"))
    return won.most_common(1)[0][0]


def colour(share, median):
    """Red (nothing linked) to green (all runs); darker the slower the median."""
    if share == 0:
        return "#b2182b"
    shade = 1.0 if median is None else max(0.45, 1.0 - median / 8000)
    r = int((230 * (1 - share) + 26 * share) * shade)
    g = int((120 * (1 - share) + 152 * share) * shade)
    b = int((40 * (1 - share) + 80 * share) * shade)
    return f"rgb({r},{g},{b})"


def svg(cells):
    size, label, gap = 62, 118, 60
    panels = [g for g in groups_of(cells) if g[2] == "auto"]
    panel_modes = {g: modes_of(cells, g) for g in panels}
    most = max((len(m) for m in panel_modes.values()), default=0)
    panel_w = label + most * size
    panel_h = 24 + label + most * size
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    width = cols * panel_w + (cols - 1) * gap + 60  # room for the last rotated column label
    height = max(rows, 1) * (panel_h + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="10">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="4" y="{height - 10}" font-size="11">Runs linked / runs made and median ms from connect() to the '
             'first echoed message; rows: side a (connects), columns: side b (listens). Red: never linked.</text>']
    for i, group in enumerate(panels):
        condition, transport = group[:2]
        modes = panel_modes[group]
        left, top = (i % cols) * (panel_w + gap), (i // cols) * (panel_h + gap)
        parts.append(f'<text x="{left + 4}" y="{top + 16}" font-size="13" font-weight="bold">{group_name(group)}</text>')
        for j, m in enumerate(modes):
            x = left + label + j * size + size / 2
            parts.append(f'<text x="{x}" y="{top + 24 + label - 6}" transform="rotate(-40 {x} {top + 24 + label - 6})">'
                         f'{SHORT[m]}</text>')
            parts.append(f'<text x="{left + 4}" y="{top + 24 + label + j * size + size / 2 + 4}">{SHORT[m]}</text>')
        for r, a in enumerate(modes):
            for c, b in enumerate(modes):
                runs = cells.get((condition, transport, "auto", a, b), [])
                ok, n, median, winners = summary(runs)
                x, y = left + label + c * size, top + 24 + label + r * size
                fill = "#eeeeee" if n == 0 else colour(ok / n, median)
                tip = f"{LABELS[a]} x {LABELS[b]}: {cell_text(runs, True)}"
                parts.append(f'<rect x="{x}" y="{y}" width="{size - 2}" height="{size - 2}" fill="{fill}"><title>{tip}</title></rect>')
                if n:
                    parts.append(f'<text x="{x + 5}" y="{y + 20}" fill="white" font-size="12">{ok}/{n}</text>')
                if median is not None:
                    parts.append(f'<text x="{x + 5}" y="{y + 36}" fill="white">{median:.0f} ms</text>')
                if winners:
                    parts.append(f'<text x="{x + 5}" y="{y + 52}" fill="white" font-size="9">{usual_winner(runs)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--report")
    p.add_argument("--svg")
    p.add_argument("--baseline")
    p.add_argument("--write-baseline")
    p.add_argument("--note", default="", help="a paragraph for the report: how and where the matrix ran")
    args = p.parse_args()
    cells = load(args.results)
    text = tables(cells)
    overview = plugin_summary(cells)
    print(overview)
    if args.report:
        with open(args.report, "w") as f:
            f.write("# Traversal matrix\n\nProduced by `tests/lab/matrix.sh` in the NAT lab (docs/lab.md) and written by "
                    "`tests/lab/matrix_report.py` from the run's raw results (`docs/traversal-matrix.jsonl`). Each cell is "
                    "runs linked / runs made, and the median milliseconds from connect() to the first echoed message; "
                    "auto_connect cells name the plugins that won (\"relay\": a relayed link). Rows are side a (it "
                    "connects), columns side b (it listens). CGNAT double NAT is a port-restricted home router behind a "
                    "port-restricted carrier NAT.\n\n![heat map](traversal-matrix.svg)\n")
            if args.note:
                f.write(f"\n{args.note}\n")
            f.write("\n## Summary per strategy\n\nPairs linked: pairs with at least one linked run.\n")
            f.write(overview)
            f.write("\n## Tables\n")
            f.write(text)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(cells))
    linked = {"/".join(k): True for k, runs in cells.items() if summary(runs)[0] > 0}
    if args.write_baseline:
        with open(args.write_baseline, "w") as f:
            json.dump(linked, f, indent=1, sort_keys=True)
            f.write("\n")
    if args.baseline:
        with open(args.baseline) as f:
            expected = json.load(f)
        ran = {"/".join(c) for c in cells}
        groups = {"/".join(c[:3]) for c in cells}
        # A baseline cell of a strategy and condition that ran, but missing itself, did not run.
        lost = [k for k in expected if k.rsplit("/", 2)[0] in groups and k not in linked]
        for k in lost:
            print(f"REGRESSED: {k} linked in the baseline, " + ("not now" if k in ran else "not run now"))
        print(f"matrix: {len(linked)} cells linked, {len(lost)} regressed")
        return 1 if lost else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
