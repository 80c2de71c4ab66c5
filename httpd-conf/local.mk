# httpd-conf/: Apache configuration, make run, install of the Apache include and units.
