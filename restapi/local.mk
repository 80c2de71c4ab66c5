# restapi/: chat-restapi, the FastCGI application.
sbin_PROGRAMS += restapi/chat-restapi
restapi_chat_restapi_SOURCES = \
	restapi/rest_main.c
restapi_chat_restapi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/restapi
restapi_chat_restapi_LDADD = $(CHAT_COMMON_LIBS) $(FCGI_LIBS) -lpthread
