"""Alignment: DTW family, soft-DTW, canonical time warping, CTC and transcript aligners, stream sync (Qt-free)."""
