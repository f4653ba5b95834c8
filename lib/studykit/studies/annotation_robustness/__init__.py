"""Annotation robustness ("LLM hacking", Baumann et al. 2025): how model, prompt and temperature
choices flip statistical conclusions drawn from LLM-annotated data."""
from .schema import NAME, Params
from .simulate import write_embedded

__all__ = ["NAME", "Params", "write_embedded"]
