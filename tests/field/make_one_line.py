#!/usr/bin/env python3
"""Writes f16_une_ligne_sans_ponctuation.txt here: a title line, then one 1.7 MB line of
comma-separated keywords with no sentence punctuation, whose last words state a fact."""

import random
from pathlib import Path

random.seed(7)
towns = ["Valbrune", "Corvenne", "Morlanges", "Sarvieux", "Lunel", "Vauclerc", "Estavel", "Ardelis"]
words = ", ".join(f"{random.choice(towns)}-{i}" for i in range(110_000))
line = f"Mots-clés associés à cet article : {words} et enfin le péage du pont de Kerlouan coûte 3 euros"
out = Path(__file__).with_name("f16_une_ligne_sans_ponctuation.txt")
out.write_text(f"Le pont de Kerlouan\n{line}\n", encoding="utf-8")
print(out, out.stat().st_size, "bytes")
