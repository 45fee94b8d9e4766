build-tsan/http.o: server/http.c server/common.h server/http.h \
 server/store.h server/crypto.h server/order.h server/app.h \
 server/config.h server/auth.h server/audit.h /usr/include/cjson/cJSON.h \
 server/limits.h server/log.h
server/common.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
server/app.h:
server/config.h:
server/auth.h:
server/audit.h:
/usr/include/cjson/cJSON.h:
server/limits.h:
server/log.h:
