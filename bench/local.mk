# bench/: chat-bench (built, not installed) and make bench.
