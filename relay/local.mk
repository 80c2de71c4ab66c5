# relay/: chat-relay, the libwebsockets daemon.
sbin_PROGRAMS += relay/chat-relay
relay_chat_relay_SOURCES = \
	relay/relay_main.c relay/relay_server.h \
	relay/relay_proto.c relay/relay_proto.h \
	relay/relay_gate.c relay/relay_gate.h \
	relay/relay_http.c relay/relay_http.h \
	relay/relay_conn.c relay/relay_conn.h \
	relay/relay_room.c relay/relay_room.h \
	relay/relay_frame.c relay/relay_frame.h \
	relay/relay_rxslab.c relay/relay_rxslab.h \
	relay/relay_wsscan.c relay/relay_wsscan.h \
	relay/relay_wscheck.c relay/relay_wscheck.h \
	relay/relay_persist.c relay/relay_persist.h \
	relay/relay_journal.c relay/relay_journal.h
relay_chat_relay_CPPFLAGS = $(AM_CPPFLAGS) $(LWS_CFLAGS) -I$(top_srcdir)/relay
relay_chat_relay_LDADD = $(CHAT_COMMON_LIBS) $(LWS_LIBS) $(EV_LIBS) -lpthread

# The protocol as implemented.
EXTRA_DIST += docs/RELAY.md
