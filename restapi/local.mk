# restapi/: chat-restapi, the FastCGI application (issue 6).
REST_SOURCES = \
	restapi/rest_buf.c restapi/rest_buf.h \
	restapi/rest_reply.c restapi/rest_reply.h \
	restapi/rest_route.c restapi/rest_route.h \
	restapi/rest_health.c restapi/rest_health.h \
	restapi/rest_analytics.c restapi/rest_analytics.h \
	restapi/rest_history.c restapi/rest_history.h \
	restapi/rest_metrics.c restapi/rest_metrics.h \
	restapi/rest_token.c restapi/rest_token.h

sbin_PROGRAMS += restapi/chat-restapi
restapi_chat_restapi_SOURCES = restapi/rest_main.c $(REST_SOURCES)
restapi_chat_restapi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/restapi
restapi_chat_restapi_LDADD = $(CHAT_COMMON_LIBS) $(FCGI_LIBS) -lpthread

# Unit tests of the routing, parsing, CORS and reply code (no FastCGI, no Apache).
check_PROGRAMS += tests/unit/test_restapi
tests_unit_test_restapi_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/restapi/test_rest.c $(REST_SOURCES)
tests_unit_test_restapi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/restapi -I$(top_srcdir)/tests/unit
tests_unit_test_restapi_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_restapi_LDADD = $(CHECK_TEST_LIBS) -lpthread
TESTS += tests/unit/test_restapi
