"""One report, in order: the request (request.py) -> the evidence of the report's mode
(modes.py: load, and the model run of model_run.py) -> the facts of every section with their
alerts (build.py) -> pictures, page and JSON (page.py) -> the files (output.py); run.py
strings them together."""
