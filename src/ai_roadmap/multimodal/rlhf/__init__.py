"""RLHF at small scale on Tang poems: SFT → reward model → PPO, and DPO beside it.

Modules, one concept each: :mod:`.prompts` (a task read off a poem), :mod:`.form`
(the rule-based form judge), :mod:`.pairs` (preference pairs built without people),
:mod:`.lm` (the char-level tokenizer and the GPT-2 models), :mod:`.sft`, :mod:`.reward`
(Bradley–Terry), :mod:`.ppo` (the PPO math), :mod:`.bandit` (PPO on a toy bandit whose
optimum is known), :mod:`.rollout` (PPO on the language model), :mod:`.dpo` (TRL's
``DPOTrainer``) and :mod:`.judge` (sampling and scoring a policy).
"""
