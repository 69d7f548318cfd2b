"""A small class-conditioned diffusion model and DreamBooth-style subject fine-tuning.

* :mod:`.stamps` — the Tux Paint stamps composited on white at a small size, grouped
  into classes by category, with one subject's images set apart;
* :mod:`.noise` — the DDPM noise schedule, the forward noising q(x_t | x_0) and the DDIM
  update, written out (checked against ``diffusers``' schedulers);
* :mod:`.unet` — the class-conditioned U-Net (``diffusers.UNet2DModel``) with a spare
  class slot for the rare identifier "[V]";
* :mod:`.train` — the ε-prediction training loop, plain and with prior preservation;
* :mod:`.sample` — DDPM / DDIM sampling through ``diffusers``' schedulers, image grids;
* :mod:`.features`, :mod:`.frechet`, :mod:`.fidelity` — what the samples are scored with.

``diffusers`` takes seconds to import: it is imported inside the functions that need it.
"""
