# man/: the manual pages (issue 10), written in roff; tests/integration/ops_man.test.mjs keeps
# them in step with --help.
dist_man1_MANS = man/chat-token.1
dist_man5_MANS = man/chat-analytics.conf.5
dist_man8_MANS = man/chat-relay.8 man/chat-restapi.8
