"""Reporting: tables, figures and the demo's summary, read from result files alone.

Holds the report over a results folder beside the paper's numbers (``report``,
``paper_numbers``), the training curves and confusion matrices (``plots``) and what ./run
prints after the demo (``demo``). A reader: it may import ``ser.corpora``, ``ser.features``,
``ser.protocols``, ``ser.records`` and ``models`` for the facts a record names, never the
training engine or a run.
"""
