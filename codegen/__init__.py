"""Turns the protos in ``spec/`` into the OpenAPI document and the generated REST layers.

``python -m codegen`` writes every output; ``python -m codegen --check`` writes nothing and exits
non-zero when a generated file differs from what the protos say it should be.
"""
