"""The GLAM paper's published numbers (Zhu & Li, ICASSP 2022), as the report sets them beside ours.

Transcribed from the tables in the authors' repository README (our seed document
``000``): mean ± std in percent of WA, UA, macro F1 and the column the paper calls "micro
F1", which is the support-weighted F1 (``ser.training.metrics``). The README does not say how many
runs each row averages, nor which standard deviation it prints.

- ``COMPARISON``: Table 1, the paper protocol on the three subsets.
- ``ABLATION``: the multi-scale / global-aware module table (improvised subset).
- ``ALPHA``: the mixup α table (GLAM, improvised subset).
- ``SPLIT_811``: the 8:1:1 train/validation/test table.

Keys use our registry names; ``PAPER_NAMES`` gives the row names the paper prints.
"""
from __future__ import annotations

METRICS = ("WA", "UA", "macro_f1", "weighted_f1")

# Registry name -> the paper's row name.
PAPER_NAMES = {
    "CNN_AttnPooling": "APCNN",
    "MHCNN": "MHCNN",
    "AACNN": "AACNN",
    "GLAM": "GLAM",
    "ResMultiConv3": "Multi-scale",
    "MHResMultiConv3": "Multi-scale + MHA",
    "AAResMultiConv3": "Multi-scale + AA",
}

# The mixup α each paper row was trained with in the original scripts: the GLAM family 0.5, the
# baselines without mixup.
PAPER_ALPHA = {"CNN_AttnPooling": 0.0, "MHCNN": 0.0, "AACNN": 0.0, "GLAM": 0.5,
               "ResMultiConv3": 0.5, "MHResMultiConv3": 0.5, "AAResMultiConv3": 0.5}

SUBSET_NAMES = {"impro": "Improvisation", "script": "Script", "all": "Full"}

Cell = dict[str, tuple[float, float]]  # metric -> (mean, std)


def _cell(WA: tuple[float, float], UA: tuple[float, float], macro_f1: tuple[float, float],
          weighted_f1: tuple[float, float]) -> Cell:
    return {"WA": WA, "UA": UA, "macro_f1": macro_f1, "weighted_f1": weighted_f1}


# (subset, model) -> cell
COMPARISON: dict[tuple[str, str], Cell] = {
    ("impro", "CNN_AttnPooling"): _cell((70.73, 2.57), (67.96, 2.66), (68.26, 3.17), (70.20, 3.00)),
    ("impro", "MHCNN"): _cell((76.09, 2.01), (73.87, 2.31), (74.27, 2.25), (75.91, 2.05)),
    ("impro", "AACNN"): _cell((78.47, 2.42), (76.68, 3.29), (76.69, 3.27), (78.29, 2.58)),
    ("impro", "GLAM"): _cell((81.18, 1.47), (79.25, 1.88), (79.87, 1.64), (80.99, 1.50)),
    ("script", "CNN_AttnPooling"): _cell((55.95, 2.93), (54.86, 2.74), (48.75, 3.71), (51.15, 3.87)),
    ("script", "MHCNN"): _cell((64.57, 2.12), (63.42, 2.14), (61.46, 2.50), (63.36, 2.56)),
    ("script", "AACNN"): _cell((67.20, 4.78), (65.94, 6.19), (64.82, 7.63), (66.55, 6.99)),
    ("script", "GLAM"): _cell((71.44, 2.05), (70.39, 2.13), (69.56, 2.13), (70.91, 2.12)),
    ("all", "CNN_AttnPooling"): _cell((62.53, 1.43), (62.80, 1.53), (61.89, 1.52), (62.12, 1.50)),
    ("all", "MHCNN"): _cell((69.80, 1.69), (70.09, 1.74), (69.65, 1.73), (69.68, 1.71)),
    ("all", "AACNN"): _cell((70.94, 5.08), (71.04, 4.84), (70.59, 6.34), (70.71, 6.44)),
    ("all", "GLAM"): _cell((73.70, 1.25), (73.90, 1.31), (73.51, 1.29), (73.60, 1.27)),
}

# model -> cell (improvised subset)
ABLATION: dict[str, Cell] = {
    "GLAM": _cell((81.18, 1.47), (79.25, 1.88), (79.87, 1.64), (80.99, 1.50)),
    "ResMultiConv3": _cell((80.89, 1.43), (78.85, 1.65), (79.47, 1.60), (80.67, 1.45)),
    "MHResMultiConv3": _cell((80.43, 1.53), (78.92, 1.92), (79.20, 1.68), (80.26, 1.53)),
    "AAResMultiConv3": _cell((80.61, 1.75), (79.09, 1.75), (79.47, 1.80), (80.46, 1.77)),
    "MHCNN": _cell((76.09, 2.01), (73.87, 2.31), (74.27, 2.25), (75.91, 2.05)),
    "AACNN": _cell((78.47, 2.42), (76.68, 3.29), (76.69, 3.27), (78.29, 2.58)),
}

# mixup α -> cell (GLAM, improvised subset)
ALPHA: dict[float, Cell] = {
    0.0: _cell((80.44, 1.54), (78.88, 1.66), (79.31, 1.55), (80.32, 1.55)),
    0.3: _cell((81.15, 1.73), (79.26, 1.98), (79.88, 1.85), (80.98, 1.76)),
    0.5: _cell((81.18, 1.47), (79.25, 1.88), (79.87, 1.64), (80.99, 1.50)),
    0.8: _cell((80.97, 1.53), (78.97, 1.85), (79.62, 1.75), (80.79, 1.53)),
    1.0: _cell((80.96, 1.72), (79.19, 1.92), (79.65, 1.88), (80.78, 1.73)),
    2.0: _cell((80.80, 1.39), (79.18, 1.66), (79.55, 1.50), (80.64, 1.40)),
    3.0: _cell((80.61, 1.45), (78.95, 1.58), (79.26, 1.59), (80.44, 1.45)),
}

# (subset, model) -> cell
SPLIT_811: dict[tuple[str, str], Cell] = {
    ("impro", "CNN_AttnPooling"): _cell((69.93, 4.33), (62.70, 5.16), (63.04, 5.94), (68.86, 5.48)),
    ("impro", "MHCNN"): _cell((76.13, 2.80), (71.15, 4.11), (71.91, 3.92), (75.92, 2.87)),
    ("impro", "AACNN"): _cell((78.65, 3.30), (74.31, 4.59), (74.78, 4.43), (78.47, 3.40)),
    ("impro", "GLAM"): _cell((81.04, 2.65), (75.89, 3.94), (76.79, 3.78), (80.78, 2.75)),
    ("script", "CNN_AttnPooling"): _cell((53.48, 3.83), (55.77, 3.60), (48.14, 4.27), (48.10, 4.90)),
    ("script", "MHCNN"): _cell((63.03, 3.52), (64.37, 3.24), (61.32, 3.88), (61.77, 4.31)),
    ("script", "AACNN"): _cell((65.49, 3.49), (65.87, 2.98), (64.36, 3.42), (65.22, 3.77)),
    ("script", "GLAM"): _cell((69.80, 3.16), (70.63, 3.17), (68.85, 3.40), (69.30, 3.42)),
    ("all", "CNN_AttnPooling"): _cell((60.33, 2.67), (62.16, 2.55), (60.03, 2.78), (59.67, 2.88)),
    ("all", "MHCNN"): _cell((67.67, 2.34), (68.65, 2.32), (67.55, 2.34), (67.58, 2.36)),
    ("all", "AACNN"): _cell((67.71, 2.25), (68.67, 2.22), (67.62, 2.32), (67.46, 2.33)),
    ("all", "GLAM"): _cell((71.63, 2.12), (72.56, 2.05), (71.53, 2.16), (71.42, 2.19)),
}
