"""Semantic segmentation: U-Net and DeepLabV3+ written in PyTorch, Albumentations
augmentation that moves images, masks and boxes together, and IoU / Dice from a
confusion matrix. The milestone ``s4.segment`` trains them on the composite scenes of
:mod:`ai_roadmap.vision.scenes`.
"""
