"""SHIM's Prometheus metrics: the families, the recorder the features call, the exporter.

Pure: nothing here imports pygls. Every window writes its figures into one folder of the state
dir (prometheus_client's multiprocess mode), and one exporter per machine reads them all.
"""
