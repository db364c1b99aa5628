"""Answer generators: extractive (the default) and generative backends behind one interface."""

from app.services.answering.extractive import ExtractiveGenerator
from app.services.answering.generative import GenerativeGenerator
from app.services.answering.generator import Answer, Citation, Generator

__all__ = ["Answer", "Citation", "ExtractiveGenerator", "GenerativeGenerator", "Generator"]
