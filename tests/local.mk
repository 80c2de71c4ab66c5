# tests/: Check unit tests (one program per area), layering check, integration tests.
CHECK_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
CHECK_TEST_LIBS = $(CHAT_COMMON_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_common
tests_unit_test_common_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/common/test_chat_err.c \
	tests/unit/common/test_chat_msg.c \
	tests/unit/common/test_chat_id.c \
	tests/unit/common/test_chat_token.c \
	tests/unit/common/test_chat_bucket.c \
	tests/unit/common/test_chat_config.c \
	tests/unit/common/test_chat_log.c \
	tests/unit/common/tcases_common.c
tests_unit_test_common_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_common_LDADD = $(CHECK_TEST_LIBS)

TESTS += tests/unit/test_common tests/check-layering.sh
EXTRA_DIST += tests/check-layering.sh

# The analytics segment (issue 4).
check_PROGRAMS += tests/unit/test_shm
tests_unit_test_shm_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/common/test_chat_shm.c
tests_unit_test_shm_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_shm_LDADD = $(CHECK_TEST_LIBS)
TESTS += tests/unit/test_shm

# The stores (issue 5): SQLite in a temp dir, and DynamoDB against dynalite, which the program
# starts itself (tests/integration/lib/dynalite.mjs, from the source tree); a missing node or
# tests/node_modules fails the DynamoDB tests with a message, never skips them.
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/common/test_chat_store.c
tests_unit_test_store_CPPFLAGS = $(AM_CPPFLAGS) -DCHAT_TEST_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_store_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_store_LDADD = $(CHECK_TEST_LIBS) -lpthread
TESTS += tests/unit/test_store
EXTRA_DIST += tests/run-with-dynalite.sh tests/integration/lib/dynalite.mjs

# The relay's persistence pipeline (issue 5): journal and queue, without lws.
check_PROGRAMS += tests/unit/test_relay
tests_unit_test_relay_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/relay/tcases_relay.c \
	tests/unit/relay/test_relay_journal.c \
	tests/unit/relay/test_relay_persist.c \
	relay/relay_journal.c relay/relay_journal.h \
	relay/relay_persist.c relay/relay_persist.h
tests_unit_test_relay_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_relay_LDADD = $(CHECK_TEST_LIBS) -lpthread
TESTS += tests/unit/test_relay

# The RFC 6455 rules the relay checks before libwebsockets (issue 9).
check_PROGRAMS += tests/unit/test_wsscan
tests_unit_test_wsscan_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/relay/test_relay_wsscan.c \
	relay/relay_wsscan.c relay/relay_wsscan.h
tests_unit_test_wsscan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_wsscan_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_wsscan_LDADD = $(CHECK_TEST_LIBS)
TESTS += tests/unit/test_wsscan

# lws's receive buffers in page-aligned slots (issue 8): through lws's own allocator entry.
check_PROGRAMS += tests/unit/test_rxslab
tests_unit_test_rxslab_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/relay/test_relay_rxslab.c \
	relay/relay_rxslab.c relay/relay_rxslab.h
tests_unit_test_rxslab_CPPFLAGS = $(AM_CPPFLAGS) $(LWS_CFLAGS) -I$(top_srcdir)/relay
tests_unit_test_rxslab_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_rxslab_LDADD = $(CHECK_TEST_LIBS) $(LWS_LIBS)
TESTS += tests/unit/test_rxslab

# sd_notify and pidfiles (issue 10); --daemon is tested on the daemons themselves.
check_PROGRAMS += tests/unit/test_sd
tests_unit_test_sd_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/common/test_chat_sd.c
tests_unit_test_sd_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_sd_LDADD = $(CHECK_TEST_LIBS)
TESTS += tests/unit/test_sd
