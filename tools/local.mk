# tools/: chat-token (installed) and chat-bench (not installed).
