"""The artifact stores reached straight from the client (Azure Blob, GCS, SFTP, FTP), each against a real
server on loopback: ``<store>_server.py`` starts it (also used by ``bench/stores.py``), ``test_<store>.py``
tests our repository and interop with MLflow's own, both ways, and through a real ``mlflow server``."""
