"""The building blocks of LMC-Memory; each takes plain numbers, never a config."""
