"""Classical Chinese poems from a character-level language model, and how to score them.

Read in order: ``corpus`` (the cleaned 全唐诗 and its split by poem), ``vocab`` (tokens),
``model`` (the LSTM), ``train`` (the training loop with early stopping), ``generate``
(sampling, beam search and the forms' constraints), ``ngram`` (the Kneser–Ney baseline),
``bleu`` and ``evaluate`` (BLEU-3 under two protocols, distinct-2, copying, form
correctness), ``store`` (model folders and the registry's model) and ``poem`` (one
``roadmap poem`` request). The milestone that trains and measures it all is
:mod:`ai_roadmap.milestones.s3.poetry`.
"""
