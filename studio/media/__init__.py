"""Media: probing, decoding, envelopes, spectrograms, features and the playback clock (Qt-free)."""
