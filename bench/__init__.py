"""The benchmark (`make bench`, `python -m bench`): ingest throughput against the raw encoder,
/search and /ask latency and throughput against a plain LlamaIndex peer over real HTTP, memory,
and the same at 10x and 100x the sample with Debian's French man pages as distractors."""
