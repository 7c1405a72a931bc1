#!/usr/bin/env python3
"""Draws bench/results/schemes.svg from the schemes TSVs: per workload and accelerator, each
recorder's recording slowdown and replay time against its recording time, as grouped bars.
Plain SVG, no plotting library.

usage: bench/plot.py OUT.svg TSV..."""
import html
import os
import sys

COLORS = {"kernel_rr": "#2b6cb0", "whole_system_rr": "#c05621"}


def rows(paths):
    for path in paths:
        workload = os.path.basename(path).split(".")[0].replace("schemes-", "").replace("-kvm", "")
        for line in open(path):
            f = line.split()
            if len(f) != 8 or f[1] == "baseline":
                continue
            accel, scheme, base, rec, rep = f[0], f[1], float(f[2]), float(f[3]), f[4]
            yield (f"{workload} ({accel})", scheme, rec / base if base > 0 else 0,
                   float(rep) / rec if rep != "-" and rec > 0 else None)


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    data = list(rows(paths))
    groups = []
    for g, _, _, _ in data:
        if g not in groups:
            groups.append(g)
    panels = [("recording slowdown (x baseline)", 2), ("replay time / recording time", 3)]
    bar, gap, left, top, height = 18, 64, 70, 40, 220
    per_group = 2 * bar + gap
    width = left + len(groups) * per_group + 180
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{len(panels) * (height + 90) + 20}" '
           'font-family="sans-serif" font-size="11">']
    for p, (title, idx) in enumerate(panels):
        y0 = top + p * (height + 90)
        vals = [d[idx] for d in data if d[idx] is not None]
        vmax = max(vals + [1.0]) * 1.15
        svg.append(f'<text x="{left}" y="{y0 - 12}" font-size="13" font-weight="bold">{html.escape(title)}</text>')
        svg.append(f'<line x1="{left}" y1="{y0 + height}" x2="{width - 170}" y2="{y0 + height}" stroke="black"/>')
        one = y0 + height - height / vmax
        svg.append(f'<line x1="{left}" y1="{one:.1f}" x2="{width - 170}" y2="{one:.1f}" stroke="#999" stroke-dasharray="4"/>')
        svg.append(f'<text x="{left - 6}" y="{one + 4:.1f}" text-anchor="end">1.0</text>')
        for gi, g in enumerate(groups):
            x = left + gi * per_group + gap / 2
            for si, scheme in enumerate(COLORS):
                for d in data:
                    if d[0] == g and d[1] == scheme and d[idx] is not None:
                        h = height * d[idx] / vmax
                        bx = x + si * bar
                        svg.append(f'<rect x="{bx:.1f}" y="{y0 + height - h:.1f}" width="{bar - 2}" height="{h:.1f}" fill="{COLORS[scheme]}"/>')
                        svg.append(f'<text x="{bx + bar / 2 - 1:.1f}" y="{y0 + height - h - 3:.1f}" text-anchor="middle" font-size="9">{d[idx]:.2f}</text>')
            svg.append(f'<text x="{x + bar:.1f}" y="{y0 + height + 14}" text-anchor="middle" font-size="9">{html.escape(g)}</text>')
        for si, scheme in enumerate(COLORS):
            ly = y0 + 10 + si * 16
            svg.append(f'<rect x="{width - 160}" y="{ly - 9}" width="10" height="10" fill="{COLORS[scheme]}"/>')
            svg.append(f'<text x="{width - 145}" y="{ly}">{scheme}</text>')
    svg.append("</svg>")
    open(out, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
