"""s3.poetry — a character-level LSTM that writes Tang poems, evaluated with BLEU-3.

Read in order: ``corpus`` (the data), ``vocab`` (tokens), ``model`` (the LSTM), ``train``
(the shared training loop), ``generate`` (decoding and forms), ``ngram`` (the baseline),
``bleu`` and ``evaluate`` (the figures), ``store`` (model files), ``run`` (the milestone,
``run(cfg) -> Result``).
"""
