# relay/: chat-relay, the libwebsockets daemon.
sbin_PROGRAMS += relay/chat-relay
relay_chat_relay_SOURCES = \
	relay/relay_main.c \
	relay/relay_persist.c relay/relay_persist.h \
	relay/relay_journal.c relay/relay_journal.h
relay_chat_relay_CPPFLAGS = $(AM_CPPFLAGS) $(LWS_CFLAGS) -I$(top_srcdir)/relay
relay_chat_relay_LDADD = $(CHAT_COMMON_LIBS) $(LWS_LIBS) -lpthread
