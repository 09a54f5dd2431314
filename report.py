"""Print and write the GLAM paper's tables from result folders, beside the published numbers.

    python report.py data                       # Markdown on stdout; data/report/report.md + one CSV per table
    python report.py data -o results/tables     # elsewhere
    python report.py data --labels merge        # the tables for runs with --labels merge

Reads every ``.metric`` file under the folders (one line per run, as train.py writes them)
and reports mean ± std (numpy's population std) of WA, UA, macro F1 and weighted F1 over
seeds, and over folds for the leave-one-out protocols, per protocol: Table 1's layout, the
ablation and α tables, the 8:1:1 table and every group found. See ``ser/reporting/report.py``.
Figures (confusion matrices, t-SNE of hidden states): ``python -m ser.reporting.plots --help``.
"""
from ser.reporting.report import main

if __name__ == "__main__":
    main()
