"""Natural-language models: the Tang-poem corpus, tokens, language models, BLEU."""
