"""Chinese NER: features, skip-gram embeddings, a hand-written CRF, the BiLSTM-CRF tagger,
its training loop and model folder, and the entity-level scorer."""
