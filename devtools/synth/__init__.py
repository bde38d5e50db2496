"""Synthetic retailer: writes landing-contract files with planted, known behaviour (``python -m devtools.synth``).

``generate(SynthConfig(...))`` simulates customers day by day and writes each day's partitions as it goes,
plus the ground truth in ``<out>/_truth/``. See ``simulate.py`` for the loop and ``population.py`` /
``orders.py`` / ``experience.py`` / ``web.py`` for the behaviour that later stages are checked against.
"""

from devtools.synth.config import SynthConfig
from devtools.synth.simulate import Summary, generate

__all__ = ["SynthConfig", "Summary", "generate"]
