# relay/: chat-relay (filled in by the relay issue)
