"""Adapter from the public Olist Brazilian e-commerce dataset to the pipeline's landing contract."""
