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
