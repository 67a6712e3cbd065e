"""Models: fusion models, acoustic models, training and inference (Qt-free)."""
