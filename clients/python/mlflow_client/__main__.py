"""``python -m mlflow_client``: the ``mlflow-client`` command line."""

from .cli import main

main()
