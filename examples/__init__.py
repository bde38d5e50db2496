"""Worked examples that feed real or third-party data to the pipeline; kept apart from the core package."""
