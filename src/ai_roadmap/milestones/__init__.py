"""One module per catalog id: ``s3.resnet18`` is ``ai_roadmap.milestones.s3.resnet18``.

A milestone module holds only ``run(cfg) -> Result``, its ``CHECKS``/``ADAPTER``, its plots
and notes; it composes library pieces and never imports another milestone.
"""
