"""Renderers: each turns a Verdict into a string; only the CLI writes."""
