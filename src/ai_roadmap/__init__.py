"""ai-roadmap: the full-stack → AI algorithm engineer roadmap as one runnable, measured package."""

__version__ = "0.1.0"
