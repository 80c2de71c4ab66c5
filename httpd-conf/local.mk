# httpd-conf/: Apache configuration, `make run`, and the install of the Apache include, the
# configuration and secrets files, the systemd units, the logrotate snippet, the state, runtime
# and log directories and the built frontend (issues 6 and 10). Everything install-data-local
# adds, uninstall-local removes, except what the admin changed or the daemons wrote.
EXTRA_DIST += httpd-conf/chat-analytics.conf.in httpd-conf/httpd.conf.in httpd-conf/placeholder.html \
	etc/chat-analytics.conf.example etc/secrets.conf.example etc/chat-analytics.logrotate.in \
	systemd/chat-relay.service.in systemd/chat-restapi.service.in \
	httpd-conf/measure-ws-capacity.mjs
dist_noinst_SCRIPTS += scripts/run.sh

chat_apachedir = $(datadir)/chat-analytics/apache
chat_wwwdir = $(datadir)/chat-analytics/www
systemdunitdir = $(prefix)/lib/systemd/system
# Debian's layout, used when it exists on this machine for the chosen sysconfdir.
chat_confavail = $(sysconfdir)/apache2/conf-available
chatlogdir = $(localstatedir)/log/chat-analytics
logrotatedir = $(sysconfdir)/logrotate.d

CHAT_SUBST = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@chatconfdir[@]|$(chatconfdir)|g' \
	-e 's|@chatstatedir[@]|$(chatstatedir)|g' \
	-e 's|@chatrundir[@]|$(chatrundir)|g' \
	-e 's|@chatlogdir[@]|$(chatlogdir)|g' \
	-e 's|@DOCROOT[@]|$(chat_wwwdir)|g' \
	-e 's|@RELAY_ADDR[@]|127.0.0.1:8081|g' \
	-e 's|@RESTAPI_SOCKET[@]|$(chatrundir)/restapi.sock|g' \
	-e 's|@WS_PER_CHILD[@]|20|g'

httpd-conf/chat-analytics.conf: $(top_srcdir)/httpd-conf/chat-analytics.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) httpd-conf && $(CHAT_SUBST) $(top_srcdir)/httpd-conf/chat-analytics.conf.in >$@.tmp && mv $@.tmp $@
systemd/chat-relay.service: $(top_srcdir)/systemd/chat-relay.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(CHAT_SUBST) $(top_srcdir)/systemd/chat-relay.service.in >$@.tmp && mv $@.tmp $@
systemd/chat-restapi.service: $(top_srcdir)/systemd/chat-restapi.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(CHAT_SUBST) $(top_srcdir)/systemd/chat-restapi.service.in >$@.tmp && mv $@.tmp $@
etc/chat-analytics.logrotate: $(top_srcdir)/etc/chat-analytics.logrotate.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(CHAT_SUBST) $(top_srcdir)/etc/chat-analytics.logrotate.in >$@.tmp && mv $@.tmp $@

# The hosting guide goes with the units that point at it; monitoring examples beside it.
chatdocdir = $(docdir)
dist_chatdoc_DATA = docs/APACHE.md docs/OPERATIONS.md
chatexamplesdir = $(datadir)/chat-analytics/examples
dist_chatexamples_DATA = etc/chat-analytics-alerts.yml etc/chat-analytics-grafana.json

CHAT_GENERATED = httpd-conf/chat-analytics.conf systemd/chat-relay.service systemd/chat-restapi.service \
	etc/chat-analytics.logrotate
noinst_DATA = $(CHAT_GENERATED)
CLEANFILES += $(CHAT_GENERATED)

# The include goes to conf-available when Debian's layout exists (then: a2enconf
# chat-analytics), else next to the other shared data. The configuration file is installed
# only when absent, and removed at uninstall only while it is still the untouched example.
install-data-local: $(CHAT_GENERATED)
	@if test -d "$(chat_confavail)"; then dest="$(DESTDIR)$(chat_confavail)"; \
	else dest="$(DESTDIR)$(chat_apachedir)"; fi; \
	echo " install Apache include -> $$dest/chat-analytics.conf"; \
	$(MKDIR_P) "$$dest" && $(INSTALL_DATA) httpd-conf/chat-analytics.conf "$$dest/chat-analytics.conf"
	$(MKDIR_P) "$(DESTDIR)$(chatconfdir)"
	$(INSTALL_DATA) $(top_srcdir)/etc/chat-analytics.conf.example "$(DESTDIR)$(chatconfdir)/chat-analytics.conf.example"
	@if test ! -e "$(DESTDIR)$(chatconfdir)/chat-analytics.conf"; then \
	  echo " install $(DESTDIR)$(chatconfdir)/chat-analytics.conf (from the example)"; \
	  $(INSTALL) -m 644 $(top_srcdir)/etc/chat-analytics.conf.example "$(DESTDIR)$(chatconfdir)/chat-analytics.conf"; \
	fi
	@if test ! -e "$(DESTDIR)$(chatconfdir)/secrets.conf"; then \
	  echo " install $(DESTDIR)$(chatconfdir)/secrets.conf (mode 0600, from the example)"; \
	  $(INSTALL) -m 600 $(top_srcdir)/etc/secrets.conf.example "$(DESTDIR)$(chatconfdir)/secrets.conf"; \
	fi
	$(MKDIR_P) "$(DESTDIR)$(logrotatedir)"
	$(INSTALL_DATA) etc/chat-analytics.logrotate "$(DESTDIR)$(logrotatedir)/chat-analytics"
	$(MKDIR_P) "$(DESTDIR)$(chatstatedir)" "$(DESTDIR)$(chatrundir)" "$(DESTDIR)$(chatlogdir)"
	chmod 750 "$(DESTDIR)$(chatstatedir)" "$(DESTDIR)$(chatrundir)" "$(DESTDIR)$(chatlogdir)"
	$(MKDIR_P) "$(DESTDIR)$(systemdunitdir)"
	$(INSTALL_DATA) systemd/chat-relay.service systemd/chat-restapi.service "$(DESTDIR)$(systemdunitdir)"
	@$(MKDIR_P) "$(DESTDIR)$(chat_wwwdir)"; found=no; \
	for d in "$(abs_top_builddir)/frontend/dist" "$(abs_top_srcdir)/frontend/dist"; do \
	  if test -f "$$d/index.html"; then \
	    echo " install frontend $$d -> $(DESTDIR)$(chat_wwwdir)"; \
	    cp -R "$$d/." "$(DESTDIR)$(chat_wwwdir)/" || exit 1; \
	    found=yes; break; \
	  fi; \
	done; \
	if test $$found = no; then \
	  echo " install a placeholder page -> $(DESTDIR)$(chat_wwwdir) (frontend not built:"; \
	  echo "   cd frontend && npm ci && npm run build, then make install again)"; \
	  $(INSTALL_DATA) $(top_srcdir)/httpd-conf/placeholder.html "$(DESTDIR)$(chat_wwwdir)/index.html"; \
	fi; \
	chmod -R u+w,go+rX "$(DESTDIR)$(chat_wwwdir)"

# The steps left to the admin, printed last (install-data-hook runs after every other install
# rule).
install-data-hook:
	@echo ""
	@echo "chat-analytics: to put it behind the system Apache:"
	@echo "  a2enmod proxy proxy_http proxy_wstunnel proxy_fcgi headers reqtimeout mime dir"
	@if test -d "$(chat_confavail)"; then echo "  a2enconf chat-analytics"; \
	else echo "  Include $(chat_apachedir)/chat-analytics.conf in your Apache configuration"; fi
	@echo "chat-analytics: the system user, then the services (see $(docdir)/OPERATIONS.md):"
	@echo "  adduser --system --group --home $(chatstatedir) chat-analytics"
	@echo "  adduser www-data chat-analytics"
	@echo "  chown chat-analytics:chat-analytics $(chatstatedir) $(chatlogdir)"
	@echo "  systemctl daemon-reload && systemctl enable --now chat-relay chat-restapi"
	@echo "  systemctl restart apache2"

uninstall-local:
	rm -f "$(DESTDIR)$(chat_confavail)/chat-analytics.conf" "$(DESTDIR)$(chat_apachedir)/chat-analytics.conf"
	@if cmp -s $(top_srcdir)/etc/chat-analytics.conf.example "$(DESTDIR)$(chatconfdir)/chat-analytics.conf"; then \
	  rm -f "$(DESTDIR)$(chatconfdir)/chat-analytics.conf"; fi
	rm -f "$(DESTDIR)$(chatconfdir)/chat-analytics.conf.example"
	@if cmp -s $(top_srcdir)/etc/secrets.conf.example "$(DESTDIR)$(chatconfdir)/secrets.conf"; then \
	  rm -f "$(DESTDIR)$(chatconfdir)/secrets.conf"; fi
	rm -f "$(DESTDIR)$(logrotatedir)/chat-analytics"
	rm -f "$(DESTDIR)$(systemdunitdir)/chat-relay.service" "$(DESTDIR)$(systemdunitdir)/chat-restapi.service"
	rm -rf "$(DESTDIR)$(chat_wwwdir)"

# After every uninstall rule: our directories, when nothing is left in them (a changed
# configuration, the database or logs keep theirs).
uninstall-hook:
	-rmdir "$(DESTDIR)$(chat_apachedir)" "$(DESTDIR)$(chatexamplesdir)" \
	  "$(DESTDIR)$(datadir)/chat-analytics" "$(DESTDIR)$(docdir)" "$(DESTDIR)$(chatconfdir)" \
	  "$(DESTDIR)$(logrotatedir)" "$(DESTDIR)$(chatstatedir)" "$(DESTDIR)$(chatrundir)" \
	  "$(DESTDIR)$(chatlogdir)" 2>/dev/null

# make run: the whole stack from this build tree on http://localhost:$(PORT) (default 8080);
# run.sh builds the two daemons itself.
run:
	BUILD_DIR="$(abs_top_builddir)" $(SHELL) $(top_srcdir)/scripts/run.sh
.PHONY: run
