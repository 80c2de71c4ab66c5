# restapi/: chat-restapi (filled in by the REST issue)
