"""Studio: an annotation-and-alignment studio for multimodal recordings."""

__version__ = "0.1.0"
