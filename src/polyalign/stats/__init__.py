"""Statistics that decide the report's claims: paired bootstrap over items, verdicts (one-sided,
equivalence, Holm's correction over parts) and power (the smallest effect a run can detect).

Pure numpy (and sacrebleu's metric objects for corpus chrF++/BLEU); no torch, no file reading.
"""
