"""A YOLOv8-style detector written here: CSP backbone, PAN neck, anchor-free decoupled head.

Modules, read in this order: :mod:`boxes` (IoU, CIoU, box ↔ distance coding),
:mod:`model` (the network), :mod:`assigner` (task-aligned assignment), :mod:`loss`
(BCE + CIoU + DFL), :mod:`nms`, :mod:`metrics` (COCO mAP) and :mod:`train`.
No code of Ultralytics (AGPL) is used; the ideas follow the YOLOv8 design as published.
"""
