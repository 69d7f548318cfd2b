"""The fast prediction path: a trained pipeline rewritten as NumPy steps over plain records.

The training pipeline (pandas feature engineering, a ``ColumnTransformer``, the model) costs
milliseconds per row, almost all of it in building and checking one-row DataFrames. Here
the same fitted parameters drive NumPy code over a batch of JSON records:

- :mod:`.compile` (training side, needs scikit-learn) reads a fitted pipeline and writes
  ``fast.json`` (the steps and their small parameters) and ``fast.npz`` (the arrays) into
  the model folder;
- :mod:`.runtime` (serving side, NumPy only) loads them and predicts;
- :mod:`.features` holds the record-level versions of the project's own feature steps.

The training pipeline stays the reference: the tests feed both every row of the datasets
and generated records and require the same predictions.
"""
