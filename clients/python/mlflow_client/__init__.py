"""mlflow-client: a light, fast client for the MLflow Tracking REST API.

Importing this package is cheap: httpx, tenacity and the generated models load on first use.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
