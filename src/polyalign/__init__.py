"""polyalign: extend an English-centric LLM to other languages by aligning languages during
instruction tuning, and measure what that did."""

__version__ = "0.1.0"
