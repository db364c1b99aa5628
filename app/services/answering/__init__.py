"""Answer generators: the extractive default now, generative backends behind the same interface."""

from app.services.answering.extractive import ExtractiveGenerator
from app.services.answering.generator import Answer, Citation, Generator

__all__ = ["Answer", "Citation", "ExtractiveGenerator", "Generator"]
