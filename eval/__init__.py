"""The evaluation: a question set run against the service, scored for retrieval, answers and
citations, with thresholds that make it a CI gate (`python -m eval --help`)."""
