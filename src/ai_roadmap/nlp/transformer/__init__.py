"""A Transformer decoder written from the equations, small enough to read in one sitting.

- :mod:`.masks`      causal and padding masks as explicit (T_q, T_k) matrices;
- :mod:`.positions`  sinusoidal (Vaswani et al. 2017) and rotary (Su et al. 2021) positions;
- :mod:`.attention`  scaled dot-product and multi-head attention;
- :mod:`.cache`      the key/value cache that makes generation one token per step;
- :mod:`.decoder`    a decoder-only language model (pre-LN blocks), ``generate`` with the cache;
- :mod:`.stepper`    the decoder behind the poetry decoders' ``Stepper`` interface;
- :mod:`.reference`  the checks against PyTorch's own attention, shared by tests and s4.transformer.
"""
