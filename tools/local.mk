# tools/: chat-token (installed) and chat-bench (not installed).

bin_PROGRAMS += tools/chat-token
tools_chat_token_SOURCES = tools/chat_token_main.c
tools_chat_token_CPPFLAGS = $(AM_CPPFLAGS) -DCHAT_DEFAULT_SECRETS='"$(chatconfdir)/secrets.conf"'
tools_chat_token_LDADD = $(CHAT_COMMON_LIBS)
