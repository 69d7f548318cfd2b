"""Model export (TorchScript lite, ExecuTorch, ONNX) and verification in a fresh process."""
