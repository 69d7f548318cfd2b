"""Vision models and methods: ResNet, MobileNetV2, knowledge distillation."""
